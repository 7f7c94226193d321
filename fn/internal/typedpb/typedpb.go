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
	"time"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
)

// An Encoder encodes typed values as protobuf Values. Within one object the
// values it returns share what is the same: the values reached through the
// same pointer or the same slice, equal times. Between objects they share
// only the known fields the caller gives (StructWith), so that each object
// holds memory of its own, which Held counts, and can be kept apart from the
// others, as in a cache. The caller must not modify what it returns, nor what
// it encoded while it uses the Encoder.
type Encoder struct {
	slab    slab
	learned map[*plan]*counts // what the last object of each type took
	shared  map[sharedKey]*structpb.Value
	known   []knownField // of the struct being encoded
	scratch []entry      // the fields of the objects being encoded
	time    time.Time
	timev   *structpb.Value
	err     error
}

// A Known is a field of a struct whose encoding the caller has: many
// objects share it, and it is encoded once (Value) rather than once each.
type Known struct {
	// Field points to the field, in the struct being encoded.
	Field any
	// Value is what the field encodes to.
	Value *structpb.Value
}

type knownField struct {
	ptr   uintptr
	typ   reflect.Type
	value *structpb.Value
}

type entry struct {
	name  string
	value *structpb.Value
}

// A sharedKey is a pointer or a slice by what it points to. The values are
// reachable from what is being encoded while the key is in use, and Go's
// heap does not move them: the address names one value.
type sharedKey struct {
	p    uintptr
	n    int
	plan *plan
}

// NewEncoder returns an Encoder.
func NewEncoder() *Encoder {
	return &Encoder{shared: map[sharedKey]*structpb.Value{}, learned: map[*plan]*counts{}}
}

// Held is at most how many bytes the values that the last call to Struct,
// StructWith or Value returned hold, besides those of known fields.
func (e *Encoder) Held() int { return e.slab.held }

// start starts encoding a top-level value, which shares nothing with what
// was encoded before.
func (e *Encoder) start() {
	e.slab.held = 0
	clear(e.shared)
	e.timev = nil
}

// Struct encodes the struct v points to.
func (e *Encoder) Struct(v any) (*structpb.Struct, error) {
	return e.StructWith(v, nil)
}

// StructWith encodes the struct v points to as Struct does, each field of
// it that known names as its Value.
func (e *Encoder) StructWith(v any, known []Known) (*structpb.Struct, error) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
		return nil, errors.Errorf("cannot encode %T: not a pointer to a struct", v)
	}
	e.known = e.known[:0]
	for _, k := range known {
		kv := reflect.ValueOf(k.Field)
		if kv.Kind() != reflect.Pointer || kv.IsNil() || k.Value == nil {
			return nil, errors.Errorf("cannot encode %T: a known field is %T, not a pointer to a field with its value", v, k.Field)
		}
		e.known = append(e.known, knownField{ptr: kv.Pointer(), typ: kv.Type().Elem(), value: k.Value})
	}
	p := planOf(rv.Type().Elem())
	e.start()
	sizes, ok := e.learned[p]
	if !ok {
		sizes = &counts{}
		e.learned[p] = sizes
	}
	e.slab.begin(sizes)
	defer e.slab.end()
	s := e.object(rv.Elem(), p)
	e.known = e.known[:0]
	return s, e.err
}

// Value encodes what v points to.
func (e *Encoder) Value(v any) (*structpb.Value, error) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return nil, errors.Errorf("cannot encode %T: not a pointer", v)
	}
	e.start()
	ev := e.encode(rv.Elem(), planOf(rv.Type().Elem()))
	return ev, e.err
}

// encode encodes v, of type p.
func (e *Encoder) encode(v reflect.Value, p *plan) *structpb.Value {
	if p.time {
		return e.encodeTime(timeAt(v).Time)
	}
	switch p.kind { // The other kinds follow.
	case reflect.Pointer:
		if v.IsNil() {
			return e.slab.null()
		}
		k := sharedKey{p: v.Pointer(), plan: p}
		ev, ok := e.shared[k]
		if !ok {
			ev = e.encode(v.Elem(), p.elem)
			e.shared[k] = ev
		}
		return ev
	case reflect.Interface:
		if v.IsNil() {
			return e.slab.null()
		}
		c := reflect.New(v.Elem().Type()).Elem()
		c.Set(v.Elem())
		return e.encode(c, planOf(c.Type()))
	}
	if p.marshaler {
		return e.marshal(v)
	}
	switch p.kind {
	case reflect.Bool:
		return e.slab.boolean(v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		return e.slab.number(p.number(v))
	case reflect.String:
		return e.slab.str(v.String())
	case reflect.Struct:
		return e.slab.object(e.object(v, p))
	case reflect.Slice:
		if v.IsNil() {
			return e.slab.null()
		}
		if p.bytes {
			return e.slab.str(base64.StdEncoding.EncodeToString(v.Bytes()))
		}
		k := sharedKey{p: v.Pointer(), n: v.Len(), plan: p}
		ev, ok := e.shared[k]
		if !ok {
			ev = e.list(v, p.elem)
			e.shared[k] = ev
		}
		return ev
	case reflect.Array:
		return e.list(v, p.elem)
	case reflect.Map:
		if v.IsNil() {
			return e.slab.null()
		}
		if p.typ.Key().Kind() != reflect.String {
			e.fail(errors.Errorf("cannot encode %s: map keys must be strings", p.typ))
			return e.slab.null()
		}
		f := make(map[string]*structpb.Value, v.Len())
		// Map values are not addressable: each is copied here to be encoded.
		c := reflect.New(p.typ.Elem()).Elem()
		for it := v.MapRange(); it.Next(); {
			c.SetIterValue(it)
			f[it.Key().String()] = e.encode(c, p.elem)
		}
		return e.slab.object(e.slab.fields(f))
	}
	e.fail(errors.Errorf("cannot encode a %s", p.typ))
	return e.slab.null()
}

// number is the number v, of kind p.
func (p *plan) number(v reflect.Value) float64 {
	switch p.kind { // Numbers only.
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(v.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return float64(v.Uint())
	default:
		return v.Float()
	}
}

// object encodes the struct v, of type p.
func (e *Encoder) object(v reflect.Value, p *plan) *structpb.Struct {
	start := len(e.scratch)
	for i := range p.fields {
		f := &p.fields[i]
		fv := f.of(v)
		if f.omitEmpty {
			if f.plan.empty(fv) {
				continue
			}
			// A zero struct that encodes to nothing is not walked.
			if f.plan.kind == reflect.Struct && f.plan.nothingWhenZero && f.plan.zero(fv) {
				continue
			}
		}
		ev := e.knownAt(fv, f.typ)
		if ev == nil {
			ev = e.encode(fv, f.plan)
		}
		if f.omitEmpty && f.plan.kind == reflect.Struct && nothing(ev) {
			continue
		}
		e.scratch = append(e.scratch, entry{name: f.name, value: ev})
	}
	f := make(map[string]*structpb.Value, len(e.scratch)-start)
	for _, en := range e.scratch[start:] {
		f[en.name] = en.value
	}
	e.scratch = e.scratch[:start]
	return e.slab.fields(f)
}

// knownAt is the known value of the field v of type t, or nil.
func (e *Encoder) knownAt(v reflect.Value, t reflect.Type) *structpb.Value {
	if len(e.known) == 0 {
		return nil
	}
	ptr := v.Addr().Pointer()
	for i := range e.known {
		if k := &e.known[i]; k.ptr == ptr && k.typ == t {
			return k.value
		}
	}
	return nil
}

// list encodes the values of the slice or array v, of type p each.
func (e *Encoder) list(v reflect.Value, p *plan) *structpb.Value {
	vs := make([]*structpb.Value, v.Len())
	for i := range vs {
		vs[i] = e.encode(v.Index(i), p)
	}
	return e.slab.list(vs)
}

// encodeTime encodes a metav1.Time as its MarshalJSON does: RFC 3339 in
// UTC, null when zero.
func (e *Encoder) encodeTime(t time.Time) *structpb.Value {
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
	e.slab.held += 4*len(b) + 64 // at most, for what JSON holds
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

// nothing reports whether a struct encoded to null or an empty object.
func nothing(v *structpb.Value) bool {
	if _, ok := v.GetKind().(*structpb.Value_NullValue); ok {
		return true
	}
	s := v.GetStructValue()
	return s != nil && len(s.GetFields()) == 0
}
