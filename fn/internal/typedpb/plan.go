package typedpb

import (
	"encoding/json"
	"reflect"
	"strings"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var (
	timeType        = reflect.TypeFor[metav1.Time]()
	marshalerType   = reflect.TypeFor[json.Marshaler]()
	unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
)

// A plan is how to encode and decode values of one type, worked out once
// per type so that encoding and decoding walk a value through package
// reflect by field indexes and kinds, without asking it about the type for
// each value.
type plan struct {
	typ  reflect.Type
	kind reflect.Kind
	size uintptr
	// id is the plan's number, one per type in the process.
	id uint64
	// elem is the plan of what a pointer points to, and of the elements of
	// a slice, an array or a map.
	elem *plan
	// fields are a struct's JSON fields, embedded structs without a JSON
	// name (json:",inline") flattened into them.
	fields []field
	byName map[string]*field
	named  []*field // the field of each name, as byName has them, in order
	// goFields are the plans of a struct's Go fields, exported or not, by
	// index: what its zero test reads.
	goFields []*plan
	// emptySlice is a slice of no elements, not nil, of a slice type.
	emptySlice reflect.Value

	time        bool // a metav1.Time
	bytes       bool // a []byte, base64 in JSON
	marshaler   bool // typ implements json.Marshaler
	unmarshaler bool // *typ implements json.Unmarshaler
	// nothingWhenZero is true for a struct whose zero value encodes to
	// nothing: every field is omitted or encodes to nothing itself.
	nothingWhenZero bool
	// equalZero is true for a struct or an array that package reflect tests
	// for zero by comparing it with its zero value, whose == tells a
	// non-zero value from the zero value: no floats (-0 == 0) in it.
	equalZero bool
}

type field struct {
	name string
	// offset is from the start of the outermost struct, inline structs
	// included; Select finds fields by it.
	offset uintptr
	// index is the field's index path in the outermost struct, through
	// inline structs.
	index     []int
	typ       reflect.Type
	plan      *plan
	omitEmpty bool
}

// of is the field of the struct v.
func (f *field) of(v reflect.Value) reflect.Value {
	if len(f.index) == 1 { // most fields
		return v.Field(f.index[0])
	}
	for _, i := range f.index {
		v = v.Field(i)
	}
	return v
}

var (
	plans   sync.Map // reflect.Type → *plan, complete
	planMu  sync.Mutex
	planTmp = map[reflect.Type]*plan{} // being made, under planMu
	planIDs uint64                     // under planMu
)

// planOf is t's plan.
func planOf(t reflect.Type) *plan {
	if p, ok := plans.Load(t); ok {
		return p.(*plan) //nolint:forcetypeassert // Only *plans are stored.
	}
	planMu.Lock()
	defer planMu.Unlock()
	if p, ok := plans.Load(t); ok {
		return p.(*plan) //nolint:forcetypeassert // Only *plans are stored.
	}
	p := makePlan(t)
	// Publish only complete plans: a recursive type's plans refer to each
	// other, and are all complete once the outermost one is.
	for t, p := range planTmp {
		plans.Store(t, p)
	}
	clear(planTmp)
	return p
}

// makePlan makes t's plan and the plans it refers to, under planMu.
func makePlan(t reflect.Type) *plan {
	if p, ok := plans.Load(t); ok {
		return p.(*plan) //nolint:forcetypeassert // Only *plans are stored.
	}
	if p, ok := planTmp[t]; ok {
		return p
	}
	p := &plan{typ: t, kind: t.Kind(), size: t.Size(), time: t == timeType,
		marshaler: t.Implements(marshalerType), unmarshaler: reflect.PointerTo(t).Implements(unmarshalerType)}
	planIDs++
	p.id = planIDs
	planTmp[t] = p
	switch p.kind { // Only these kinds hold other values.
	case reflect.Pointer, reflect.Map:
		p.elem = makePlan(t.Elem())
	case reflect.Array:
		p.elem = makePlan(t.Elem())
		p.equalZero = t.Comparable() && !holdsFloats(t)
	case reflect.Slice:
		p.elem = makePlan(t.Elem())
		p.bytes = t.Elem().Kind() == reflect.Uint8
		p.emptySlice = reflect.MakeSlice(t, 0, 0)
	case reflect.Struct:
		p.goFields = make([]*plan, t.NumField())
		for i := range p.goFields {
			p.goFields[i] = makePlan(t.Field(i).Type)
		}
		p.equalZero = t.Comparable() && !holdsFloats(t)
		collect(t, nil, 0, p)
		p.byName = make(map[string]*field, len(p.fields))
		for i := range p.fields {
			p.byName[p.fields[i].name] = &p.fields[i]
		}
		for i := range p.fields {
			if f := &p.fields[i]; p.byName[f.name] == f {
				p.named = append(p.named, f)
			}
		}
		p.nothingWhenZero = p.time || !p.marshaler
		for i := range p.fields {
			if !p.fields[i].omittedWhenZero() {
				p.nothingWhenZero = false
			}
		}
	}
	return p
}

func collect(t reflect.Type, index []int, offset uintptr, p *plan) {
	for i := range t.NumField() {
		sf := t.Field(i)
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if sf.Anonymous && name == "" && sf.Type.Kind() == reflect.Struct {
			collect(sf.Type, append(index[:len(index):len(index)], i), offset+sf.Offset, p)
			continue
		}
		if !sf.IsExported() {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		p.fields = append(p.fields, field{name: name, offset: offset + sf.Offset, index: append(index[:len(index):len(index)], i),
			typ: sf.Type, plan: makePlan(sf.Type),
			omitEmpty: strings.Contains(","+opts+",", ",omitempty,")})
	}
}

// omittedWhenZero reports whether the field is omitted when it is zero.
func (f *field) omittedWhenZero() bool {
	if !f.omitEmpty {
		return false
	}
	if f.plan.kind == reflect.Array {
		return f.plan.typ.Len() == 0
	}
	return f.plan.kind != reflect.Struct || f.plan.nothingWhenZero
}

// holdsFloats reports whether a value of type t holds a float in its own
// memory, not through a pointer.
func holdsFloats(t reflect.Type) bool {
	switch t.Kind() { // Only these kinds hold values in their own memory.
	case reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return true
	case reflect.Array:
		return holdsFloats(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if holdsFloats(t.Field(i).Type) {
				return true
			}
		}
	}
	return false
}

// empty is encoding/json's omitempty for the value v of type p.
func (p *plan) empty(v reflect.Value) bool {
	switch p.kind { // Other kinds are never empty.
	case reflect.Array:
		return p.typ.Len() == 0
	case reflect.Map:
		return v.IsNil() || v.Len() == 0
	case reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return v.Float() == 0
	case reflect.Pointer, reflect.Interface:
		return v.IsNil()
	default:
		return false
	}
}

// zero reports whether v, of type p, is all zero bits: a float -0 is not
// zero, a string of no bytes is.
func (p *plan) zero(v reflect.Value) bool {
	switch p.kind { // Package reflect tests the other kinds.
	case reflect.Struct:
		if p.equalZero {
			return v.IsZero()
		}
		for i, fp := range p.goFields {
			if !fp.zero(v.Field(i)) {
				return false
			}
		}
		return true
	case reflect.Array:
		if p.equalZero {
			return v.IsZero()
		}
		for i := range v.Len() {
			if !p.elem.zero(v.Index(i)) {
				return false
			}
		}
		return true
	}
	return v.IsZero() // floats by their bits
}

// timeAt is the metav1.Time v holds.
func timeAt(v reflect.Value) *metav1.Time {
	if v.CanAddr() {
		return v.Addr().Interface().(*metav1.Time) //nolint:forcetypeassert // v is a metav1.Time.
	}
	t := v.Interface().(metav1.Time) //nolint:forcetypeassert // v is a metav1.Time.
	return &t
}
