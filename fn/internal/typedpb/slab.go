package typedpb

import "google.golang.org/protobuf/types/known/structpb"

// A slab allocates protobuf values in blocks rather than one by one: a
// Ticket is some forty of them. An owned slab allocates them one by one, so
// that what one encoded object holds is its own.
type slab struct {
	owned   bool
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
// up; a new T if the slab is owned.
func take[T any](a *slab, block *[]T) *T {
	if a.owned {
		return new(T)
	}
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
	k := take(a, &a.strs)
	k.StringValue = s
	v := take(a, &a.vals)
	v.Kind = k
	return v
}

func (a *slab) number(n float64) *structpb.Value {
	k := take(a, &a.nums)
	k.NumberValue = n
	v := take(a, &a.vals)
	v.Kind = k
	return v
}

func (a *slab) fields(f map[string]*structpb.Value) *structpb.Struct {
	s := take(a, &a.objs)
	s.Fields = f
	return s
}

func (a *slab) object(s *structpb.Struct) *structpb.Value {
	k := take(a, &a.structs)
	k.StructValue = s
	v := take(a, &a.vals)
	v.Kind = k
	return v
}

func (a *slab) list(vs []*structpb.Value) *structpb.Value {
	l := take(a, &a.arrs)
	l.Values = vs
	k := take(a, &a.lists)
	k.ListValue = l
	v := take(a, &a.vals)
	v.Kind = k
	return v
}
