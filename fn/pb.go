package fn

import (
	"time"

	"google.golang.org/protobuf/types/known/structpb"
)

// The function reads the Track, its own XRD's object, from its protobuf
// Struct directly; the provider's objects, which apis/v1alpha1 types, go
// through package typedpb.

// obj returns the object at path below s, or nil.
func obj(s *structpb.Struct, path ...string) *structpb.Struct {
	for _, p := range path {
		if s == nil {
			return nil
		}
		s = s.GetFields()[p].GetStructValue()
	}
	return s
}

// val returns the value at path below s, or nil.
func val(s *structpb.Struct, path ...string) *structpb.Value {
	if len(path) == 0 {
		return nil
	}
	return obj(s, path[:len(path)-1]...).GetFields()[path[len(path)-1]]
}

// str returns the string at path below s, or "".
func str(s *structpb.Struct, path ...string) string {
	return val(s, path...).GetStringValue()
}

// list returns the list at path below s, or nil.
func list(s *structpb.Struct, path ...string) []*structpb.Value {
	return val(s, path...).GetListValue().GetValues()
}

// strs returns the strings of the list at path below s.
func strs(s *structpb.Struct, path ...string) []string {
	l := list(s, path...)
	if len(l) == 0 {
		return nil
	}
	out := make([]string, 0, len(l))
	for _, v := range l {
		out = append(out, v.GetStringValue())
	}
	return out
}

// condition returns the condition of type typ in s's status, or nil.
func condition(s *structpb.Struct, typ string) *structpb.Struct {
	for _, c := range list(s, "status", "conditions") {
		if cs := c.GetStructValue(); str(cs, "type") == typ {
			return cs
		}
	}
	return nil
}

func sv(s string) *structpb.Value { return structpb.NewStringValue(s) }

func structv(f map[string]*structpb.Value) *structpb.Value {
	return structpb.NewStructValue(&structpb.Struct{Fields: f})
}

func listv(vs []*structpb.Value) *structpb.Value {
	return structpb.NewListValue(&structpb.ListValue{Values: vs})
}

func timev(t time.Time) *structpb.Value { return sv(t.UTC().Format(time.RFC3339)) }
