// Package typedpb converts typed API objects to and from protobuf Structs,
// field by field as their JSON tags say, without a JSON round trip: for a
// Track of hundreds of Tickets a round trip through JSON costs several times
// the whole composition.
//
// It follows encoding/json's rules, with two differences that composed
// resources need: a struct field tagged omitempty is omitted when it encodes
// to nothing (an empty object, or a zero metav1.Time), as server-side apply
// would otherwise read an empty status or a null creationTimestamp as intent;
// and decoding ignores a value of another type than its field's, leaving
// the field zero, as the API server validated what it stored against the
// same types.
package typedpb

import (
	"encoding/base64"
	"encoding/json"
	"reflect"
	"strings"
	"sync"
	"time"
	"unsafe"

	"google.golang.org/protobuf/types/known/structpb"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
)

var (
	timeType        = reflect.TypeFor[metav1.Time]()
	marshalerType   = reflect.TypeFor[json.Marshaler]()
	unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
)

type field struct {
	name      string
	index     []int
	omitEmpty bool
}

// A plan is how to encode and decode a type: its JSON fields if it is a
// struct, embedded structs without a JSON name (json:",inline") flattened
// into them, and whether it marshals itself.
type plan struct {
	fields      []field
	byName      map[string]*field
	marshaler   bool // t implements json.Marshaler
	unmarshaler bool // *t implements json.Unmarshaler
}

var plans sync.Map // reflect.Type → *plan

// planOf is t's plan. Encoders and decoders keep the plans they use in
// maps of their own: a sync.Map costs more than the reflection it saves.
func planOf(t reflect.Type) *plan {
	if p, ok := plans.Load(t); ok {
		return p.(*plan) //nolint:forcetypeassert // Only *plans are stored.
	}
	p := &plan{marshaler: t.Implements(marshalerType), unmarshaler: reflect.PointerTo(t).Implements(unmarshalerType)}
	if t.Kind() == reflect.Struct {
		collect(t, nil, p)
		p.byName = make(map[string]*field, len(p.fields))
		for i := range p.fields {
			p.byName[p.fields[i].name] = &p.fields[i]
		}
	}
	plans.Store(t, p)
	return p
}

// plans is a cache of plans for one Encoder or Decoder.
type planCache map[reflect.Type]*plan

func (c planCache) of(t reflect.Type) *plan {
	p, ok := c[t]
	if !ok {
		p = planOf(t)
		c[t] = p
	}
	return p
}

func collect(t reflect.Type, index []int, f *plan) {
	for i := range t.NumField() {
		sf := t.Field(i)
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		idx := append(index[:len(index):len(index)], i)
		if sf.Anonymous && name == "" && sf.Type.Kind() == reflect.Struct {
			collect(sf.Type, idx, f)
			continue
		}
		if !sf.IsExported() {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		f.fields = append(f.fields, field{name: name, index: idx, omitEmpty: strings.Contains(","+opts+",", ",omitempty,")})
	}
}

// An Encoder encodes typed values as protobuf Values. Values it returns
// share what is equal: the values reached through the same pointer or the
// same slice, equal comparable structs, equal times. The caller must not
// modify them, nor what it encoded while it uses the Encoder.
type Encoder struct {
	slab    slab
	shared  map[sharedKey]*structpb.Value
	equal   map[reflect.Type]reflect.Value // comparable struct type T → map[T]*structpb.Value
	plans   planCache
	scratch []entry // the fields of the objects being encoded
	time    time.Time
	timev   *structpb.Value
	err     error
}

type entry struct {
	name  string
	value *structpb.Value
}

type sharedKey struct {
	p unsafe.Pointer
	n int
	t reflect.Type
}

// NewEncoder returns an Encoder.
func NewEncoder() *Encoder {
	return &Encoder{shared: map[sharedKey]*structpb.Value{}, equal: map[reflect.Type]reflect.Value{}, plans: planCache{}}
}

var valuePtrType = reflect.TypeFor[*structpb.Value]()

// Struct encodes the struct v points to.
func (e *Encoder) Struct(v any) (*structpb.Struct, error) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
		return nil, errors.Errorf("cannot encode %T: not a pointer to a struct", v)
	}
	s := e.object(rv.Elem())
	return s, e.err
}

func (e *Encoder) encode(v reflect.Value) *structpb.Value {
	t := v.Type()
	if t == timeType {
		return e.encodeTime(v)
	}
	switch t.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return e.slab.null()
		}
		k := sharedKey{p: v.UnsafePointer(), t: t}
		ev, ok := e.shared[k]
		if !ok {
			ev = e.encode(v.Elem())
			e.shared[k] = ev
		}
		return ev
	case reflect.Interface:
		if v.IsNil() {
			return e.slab.null()
		}
		return e.encode(v.Elem())
	}
	if e.plans.of(t).marshaler {
		return e.marshal(v)
	}
	switch t.Kind() {
	case reflect.Bool:
		return e.slab.boolean(v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return e.slab.number(float64(v.Int()))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return e.slab.number(float64(v.Uint()))
	case reflect.Float32, reflect.Float64:
		return e.slab.number(v.Float())
	case reflect.String:
		return e.slab.str(v.String())
	case reflect.Struct:
		if !t.Comparable() {
			return e.slab.object(e.object(v))
		}
		m, ok := e.equal[t]
		if !ok {
			m = reflect.MakeMap(reflect.MapOf(t, valuePtrType))
			e.equal[t] = m
		}
		if pv := m.MapIndex(v); pv.IsValid() {
			return pv.Interface().(*structpb.Value) //nolint:forcetypeassert // The map holds *structpb.Values.
		}
		ev := e.slab.object(e.object(v))
		m.SetMapIndex(v, reflect.ValueOf(ev))
		return ev
	case reflect.Slice:
		if v.IsNil() {
			return e.slab.null()
		}
		if t.Elem().Kind() == reflect.Uint8 {
			return e.slab.str(base64.StdEncoding.EncodeToString(v.Bytes()))
		}
		k := sharedKey{p: v.UnsafePointer(), n: v.Len(), t: t}
		ev, ok := e.shared[k]
		if !ok {
			ev = e.list(v)
			e.shared[k] = ev
		}
		return ev
	case reflect.Array:
		return e.list(v)
	case reflect.Map:
		if v.IsNil() {
			return e.slab.null()
		}
		if t.Key().Kind() != reflect.String {
			e.fail(errors.Errorf("cannot encode %s: map keys must be strings", t))
			return e.slab.null()
		}
		f := make(map[string]*structpb.Value, v.Len())
		for it := v.MapRange(); it.Next(); {
			f[it.Key().String()] = e.encode(it.Value())
		}
		return e.slab.object(e.slab.fields(f))
	}
	e.fail(errors.Errorf("cannot encode a %s", t))
	return e.slab.null()
}

func (e *Encoder) object(v reflect.Value) *structpb.Struct {
	fs := e.plans.of(v.Type()).fields
	start := len(e.scratch)
	for i := range fs {
		sf := &fs[i]
		fv := v.FieldByIndex(sf.index)
		if sf.omitEmpty && empty(fv) {
			continue
		}
		ev := e.encode(fv)
		if sf.omitEmpty && fv.Kind() == reflect.Struct && nothing(ev) {
			continue
		}
		e.scratch = append(e.scratch, entry{name: sf.name, value: ev})
	}
	f := make(map[string]*structpb.Value, len(e.scratch)-start)
	for _, en := range e.scratch[start:] {
		f[en.name] = en.value
	}
	e.scratch = e.scratch[:start]
	return e.slab.fields(f)
}

func (e *Encoder) list(v reflect.Value) *structpb.Value {
	vs := make([]*structpb.Value, v.Len())
	for i := range vs {
		vs[i] = e.encode(v.Index(i))
	}
	return e.slab.list(vs)
}

// encodeTime encodes a metav1.Time as its MarshalJSON does: RFC 3339 in
// UTC, null when zero.
func (e *Encoder) encodeTime(v reflect.Value) *structpb.Value {
	var t time.Time
	if v.CanAddr() {
		t = (*metav1.Time)(v.Addr().UnsafePointer()).Time
	} else {
		t = v.Interface().(metav1.Time).Time //nolint:forcetypeassert // v is a metav1.Time.
	}
	if t.IsZero() {
		return e.slab.null()
	}
	if e.timev == nil || !t.Equal(e.time) {
		e.time, e.timev = t, e.slab.str(t.UTC().Format(time.RFC3339))
	}
	return e.timev
}

// marshal encodes a value that marshals itself, through JSON.
func (e *Encoder) marshal(v reflect.Value) *structpb.Value {
	b, err := v.Interface().(json.Marshaler).MarshalJSON() //nolint:forcetypeassert // v implements json.Marshaler.
	if err != nil {
		e.fail(errors.Wrapf(err, "cannot encode %s", v.Type()))
		return e.slab.null()
	}
	ev := &structpb.Value{}
	if err := ev.UnmarshalJSON(b); err != nil {
		e.fail(errors.Wrapf(err, "cannot encode %s", v.Type()))
		return e.slab.null()
	}
	return ev
}

func (e *Encoder) fail(err error) {
	if e.err == nil {
		e.err = err
	}
}

// empty is encoding/json's omitempty.
func empty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return v.Float() == 0
	case reflect.Interface, reflect.Pointer:
		return v.IsNil()
	default:
		return false
	}
}

// nothing reports whether a struct encoded to null or an empty object.
func nothing(v *structpb.Value) bool {
	if _, ok := v.GetKind().(*structpb.Value_NullValue); ok {
		return true
	}
	s := v.GetStructValue()
	return s != nil && len(s.GetFields()) == 0
}
