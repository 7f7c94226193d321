package typedpb

import "google.golang.org/protobuf/types/known/structpb"

// A slab allocates protobuf values in blocks rather than one by one: a
// Ticket is some forty of them.
type slab struct {
	vals    []structpb.Value
	strs    []structpb.Value_StringValue
	nums    []structpb.Value_NumberValue
	structs []structpb.Value_StructValue
	lists   []structpb.Value_ListValue
	objs    []structpb.Struct
	arrs    []structpb.ListValue
}

const slabSize = 256

// take returns the next element of *block, and a new block when it is used
// up.
func take[T any](block *[]T) *T {
	if len(*block) == 0 {
		*block = make([]T, slabSize)
	}
	p := &(*block)[0]
	*block = (*block)[1:]
	return p
}

var (
	null   = structpb.NewNullValue()
	trueV  = structpb.NewBoolValue(true)
	falseV = structpb.NewBoolValue(false)
)

func (a *slab) null() *structpb.Value { return null }

func (a *slab) boolean(b bool) *structpb.Value {
	if b {
		return trueV
	}
	return falseV
}

func (a *slab) str(s string) *structpb.Value {
	k := take(&a.strs)
	k.StringValue = s
	v := take(&a.vals)
	v.Kind = k
	return v
}

func (a *slab) number(n float64) *structpb.Value {
	k := take(&a.nums)
	k.NumberValue = n
	v := take(&a.vals)
	v.Kind = k
	return v
}

func (a *slab) fields(f map[string]*structpb.Value) *structpb.Struct {
	s := take(&a.objs)
	s.Fields = f
	return s
}

func (a *slab) object(s *structpb.Struct) *structpb.Value {
	k := take(&a.structs)
	k.StructValue = s
	v := take(&a.vals)
	v.Kind = k
	return v
}

func (a *slab) list(vs []*structpb.Value) *structpb.Value {
	l := take(&a.arrs)
	l.Values = vs
	k := take(&a.lists)
	k.ListValue = l
	v := take(&a.vals)
	v.Kind = k
	return v
}
