package typedpb

import (
	"encoding/json"
	"reflect"
	"strings"
	"sync"
	"unsafe"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var (
	timeType        = reflect.TypeFor[metav1.Time]()
	marshalerType   = reflect.TypeFor[json.Marshaler]()
	unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
)

// A plan is how to encode and decode values of one type, worked out once
// per type so that encoding and decoding read and write memory through
// offsets and kinds instead of asking package reflect for each value.
type plan struct {
	typ  reflect.Type
	kind reflect.Kind
	size uintptr
	// elem is the plan of what a pointer points to, and of the elements of
	// a slice, an array or a map.
	elem *plan
	// fields are a struct's JSON fields, embedded structs without a JSON
	// name (json:",inline") flattened into them.
	fields []field
	byName map[string]*field
	named  []*field // the field of each name, as byName has them, in order

	time        bool // a metav1.Time
	bytes       bool // a []byte, base64 in JSON
	marshaler   bool // typ implements json.Marshaler
	unmarshaler bool // *typ implements json.Unmarshaler
	// nothingWhenZero is true for a struct whose zero value encodes to
	// nothing: every field is omitted or encodes to nothing itself.
	nothingWhenZero bool
}

type field struct {
	name      string
	offset    uintptr // from the start of the outermost struct, inline structs included
	typ       reflect.Type
	plan      *plan
	omitEmpty bool
}

var (
	plans   sync.Map // reflect.Type → *plan, complete
	planMu  sync.Mutex
	planTmp = map[reflect.Type]*plan{} // being made, under planMu
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
	planTmp[t] = p
	switch p.kind {
	case reflect.Pointer, reflect.Array, reflect.Map:
		p.elem = makePlan(t.Elem())
	case reflect.Slice:
		p.elem = makePlan(t.Elem())
		p.bytes = t.Elem().Kind() == reflect.Uint8
	case reflect.Struct:
		collect(t, 0, p)
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

func collect(t reflect.Type, offset uintptr, p *plan) {
	for i := range t.NumField() {
		sf := t.Field(i)
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if sf.Anonymous && name == "" && sf.Type.Kind() == reflect.Struct {
			collect(sf.Type, offset+sf.Offset, p)
			continue
		}
		if !sf.IsExported() {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		p.fields = append(p.fields, field{name: name, offset: offset + sf.Offset, typ: sf.Type, plan: makePlan(sf.Type),
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

// at is the value of type p at ptr, as package reflect has it.
func (p *plan) at(ptr unsafe.Pointer) reflect.Value {
	return reflect.NewAt(p.typ, ptr).Elem()
}

// empty is encoding/json's omitempty for the value of type p at ptr.
func (p *plan) empty(ptr unsafe.Pointer) bool {
	switch p.kind {
	case reflect.Array:
		return p.typ.Len() == 0
	case reflect.Map:
		return *(*unsafe.Pointer)(ptr) == nil || p.at(ptr).Len() == 0
	case reflect.Slice:
		return (*sliceHeader)(ptr).len == 0
	case reflect.String:
		return len(*(*string)(ptr)) == 0
	case reflect.Bool:
		return !*(*bool)(ptr)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return zero(ptr, p.size)
	case reflect.Float32:
		return *(*float32)(ptr) == 0
	case reflect.Float64:
		return *(*float64)(ptr) == 0
	case reflect.Pointer:
		return *(*unsafe.Pointer)(ptr) == nil
	case reflect.Interface:
		return *(*unsafe.Pointer)(ptr) == nil // no type: nil
	default:
		return false
	}
}

// zero reports whether the n bytes at ptr are all zero.
func zero(ptr unsafe.Pointer, n uintptr) bool {
	i := uintptr(0)
	if uintptr(ptr)%8 == 0 {
		for ; i+8 <= n; i += 8 {
			if *(*uint64)(unsafe.Add(ptr, i)) != 0 {
				return false
			}
		}
	}
	for ; i < n; i++ {
		if *(*byte)(unsafe.Add(ptr, i)) != 0 {
			return false
		}
	}
	return true
}

type sliceHeader struct {
	data     unsafe.Pointer
	len, cap int
}
