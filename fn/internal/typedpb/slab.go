package typedpb

import (
	"reflect"

	"google.golang.org/protobuf/types/known/structpb"
)

// A slab allocates protobuf values in blocks rather than one by one: a
// Ticket is some forty of them. Each object it encodes gets blocks of its
// own, sized by what the previous object of its type took, so that what one
// object holds is its own; outside an object it allocates values one by
// one. It counts the bytes it allocates.
type slab struct {
	inside  bool // encoding an object
	vals    []structpb.Value
	strs    []structpb.Value_StringValue
	nums    []structpb.Value_NumberValue
	structs []structpb.Value_StructValue
	lists   []structpb.Value_ListValue
	objs    []structpb.Struct
	arrs    []structpb.ListValue
	used    counts  // of the object being encoded
	sizes   *counts // what the previous object of its type took
	held    int     // bytes allocated
}

// The kinds of values a slab allocates.
const (
	kindVal = iota
	kindStr
	kindNum
	kindStruct
	kindList
	kindObj
	kindArr
	kinds
)

type counts [kinds]int

// kindSizes are the bytes a value of each kind takes.
var kindSizes = counts{
	kindVal:    int(reflect.TypeFor[structpb.Value]().Size()),
	kindStr:    int(reflect.TypeFor[structpb.Value_StringValue]().Size()),
	kindNum:    int(reflect.TypeFor[structpb.Value_NumberValue]().Size()),
	kindStruct: int(reflect.TypeFor[structpb.Value_StructValue]().Size()),
	kindList:   int(reflect.TypeFor[structpb.Value_ListValue]().Size()),
	kindObj:    int(reflect.TypeFor[structpb.Struct]().Size()),
	kindArr:    int(reflect.TypeFor[structpb.ListValue]().Size()),
}

// begin starts an object, whose type's previous object took sizes.
func (a *slab) begin(sizes *counts) {
	a.vals, a.strs, a.nums, a.structs, a.lists, a.objs, a.arrs = nil, nil, nil, nil, nil, nil, nil
	a.used, a.sizes, a.inside = counts{}, sizes, true
}

// end ends an object.
func (a *slab) end() {
	*a.sizes = a.used
	a.inside = false
}

// take returns the next element of *block, a value of kind k, and a new
// block when it is used up.
func take[T any](a *slab, block *[]T, k int) *T {
	if !a.inside {
		a.held += kindSizes[k]
		return new(T)
	}
	if len(*block) == 0 {
		// What the previous object of this type took beyond what this one
		// took already, or as many again.
		n := max(a.sizes[k]-a.used[k], a.used[k], 4)
		*block = make([]T, n)
		a.held += n * kindSizes[k]
	}
	a.used[k]++
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
	k := take(a, &a.strs, kindStr)
	k.StringValue = s
	a.held += len(s)
	v := take(a, &a.vals, kindVal)
	v.Kind = k
	return v
}

func (a *slab) number(n float64) *structpb.Value {
	k := take(a, &a.nums, kindNum)
	k.NumberValue = n
	v := take(a, &a.vals, kindVal)
	v.Kind = k
	return v
}

// mapBytes is at most what a map of n protobuf values holds: a header and
// groups of eight slots of a string, a pointer and a control byte, at most
// half full once it has grown.
func mapBytes(n int) int { return 64 + (16+8+1)*max(8, 2*n+2) }

func (a *slab) fields(f map[string]*structpb.Value) *structpb.Struct {
	a.held += mapBytes(len(f))
	s := take(a, &a.objs, kindObj)
	s.Fields = f
	return s
}

func (a *slab) object(s *structpb.Struct) *structpb.Value {
	k := take(a, &a.structs, kindStruct)
	k.StructValue = s
	v := take(a, &a.vals, kindVal)
	v.Kind = k
	return v
}

func (a *slab) list(vs []*structpb.Value) *structpb.Value {
	a.held += 8 * cap(vs)
	l := take(a, &a.arrs, kindArr)
	l.Values = vs
	k := take(a, &a.lists, kindList)
	k.ListValue = l
	v := take(a, &a.vals, kindVal)
	v.Kind = k
	return v
}
