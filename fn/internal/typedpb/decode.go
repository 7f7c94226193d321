package typedpb

import (
	"encoding/base64"
	"encoding/json"
	"reflect"
	"time"

	"google.golang.org/protobuf/types/known/structpb"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A Decoder decodes protobuf Structs into typed values. The strings of what
// it decodes share the Structs' memory; each pointer and slice it makes is
// allocated on its own, so that what one decoded object holds is its own,
// for objects kept apart from each other, as in a cache.
type Decoder struct {
	ignore map[*plan]bool
	held   int
}

// NewDecoder returns a Decoder that leaves the values of the types ignore
// points to alone.
func NewDecoder(ignore ...any) *Decoder {
	d := &Decoder{}
	for _, i := range ignore {
		if d.ignore == nil {
			d.ignore = map[*plan]bool{}
		}
		d.ignore[planOf(reflect.TypeOf(i).Elem())] = true
	}
	return d
}

// Struct decodes s into the struct into points to. Fields s does not hold
// keep their value; values of another type than their field's are ignored.
// It returns how many bytes the decoded values hold beyond *into: the
// strings they share with s, and what d allocated for them.
func (d *Decoder) Struct(s *structpb.Struct, into any) int {
	v := reflect.ValueOf(into)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return 0
	}
	d.held = 0
	d.object(s, v.Elem(), planOf(v.Type().Elem()), nil)
	return d.held
}

// Selected decodes the fields sel selects of s into the struct into points
// to, which must be of sel's type, as Struct does the whole struct.
func (d *Decoder) Selected(s *structpb.Struct, into any, sel Selection) int {
	v := reflect.ValueOf(into)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Type().Elem() != sel.plan.typ {
		return 0
	}
	d.held = 0
	d.object(s, v.Elem(), sel.plan, sel.sel)
	return d.held
}

// object decodes s into the struct v, of type p: the fields sel selects,
// all of them if sel is nil.
func (d *Decoder) object(s *structpb.Struct, v reflect.Value, p *plan, sel *selection) {
	fields := s.GetFields()
	if sel != nil {
		for i := range sel.fields {
			e := &sel.fields[i]
			if fv := fields[e.f.name]; fv != nil {
				d.decode(fv, e.f.of(v), e.f.plan, e.sub)
			}
		}
		return
	}
	// Looking each field up costs less than going through the object,
	// unless the struct has many more fields than the object.
	if len(p.named) <= 2*len(fields)+2 {
		for _, f := range p.named {
			if fv := fields[f.name]; fv != nil {
				d.decode(fv, f.of(v), f.plan, nil)
			}
		}
		return
	}
	for name, fv := range fields {
		if f := p.byName[name]; f != nil {
			d.decode(fv, f.of(v), f.plan, nil)
		}
	}
}

// decode decodes pv into v, of type p: if it is a struct, the fields sel
// selects.
func (d *Decoder) decode(pv *structpb.Value, v reflect.Value, p *plan, sel *selection) {
	if _, ok := pv.GetKind().(*structpb.Value_NullValue); ok || pv == nil {
		return
	}
	if d.ignore != nil && d.ignore[p] {
		return
	}
	if p.time {
		if tm, ok := timeOf(pv); ok {
			*timeAt(v) = metav1.Time{Time: tm}
		}
		return
	}
	if p.kind == reflect.Pointer {
		if p.elem.time { // parsed once, not once to see whether it fits
			if tm, ok := timeOf(pv); ok {
				q := d.alloc(p.elem)
				*timeAt(q.Elem()) = metav1.Time{Time: tm}
				v.Set(q)
			}
			return
		}
		if !fits(pv, p.elem) {
			return
		}
		q := d.alloc(p.elem)
		d.decode(pv, q.Elem(), p.elem, nil)
		v.Set(q)
		return
	}
	if p.unmarshaler {
		if b, err := pv.MarshalJSON(); err == nil {
			_ = v.Addr().Interface().(json.Unmarshaler).UnmarshalJSON(b) //nolint:forcetypeassert // Checked above.
			d.held += len(b)
		}
		return
	}
	switch k := pv.GetKind().(type) {
	case *structpb.Value_BoolValue:
		if p.kind == reflect.Bool {
			v.SetBool(k.BoolValue)
		}
	case *structpb.Value_NumberValue:
		p.setNumber(v, k.NumberValue)
	case *structpb.Value_StringValue:
		switch {
		case p.kind == reflect.String:
			v.SetString(k.StringValue)
			d.held += len(k.StringValue)
		case p.bytes:
			if b, err := base64.StdEncoding.DecodeString(k.StringValue); err == nil {
				v.SetBytes(b)
				d.held += len(b)
			}
		}
	case *structpb.Value_StructValue:
		switch p.kind { // Objects decode into structs and maps only.
		case reflect.Struct:
			d.object(k.StructValue, v, p, sel)
		case reflect.Map:
			if p.typ.Key().Kind() != reflect.String {
				return
			}
			f := k.StructValue.GetFields()
			m := reflect.MakeMapWithSize(p.typ, len(f))
			// The map holds copies of key and e: each is used again.
			key := reflect.New(p.typ.Key()).Elem()
			e := reflect.New(p.typ.Elem()).Elem()
			for name, fv := range f {
				e.SetZero()
				d.decode(fv, e, p.elem, nil)
				key.SetString(name)
				m.SetMapIndex(key, e)
				d.held += len(name) + int(p.elem.size) + mapEntryOverhead
			}
			v.Set(m)
		}
	case *structpb.Value_ListValue:
		if p.kind != reflect.Slice {
			return
		}
		vs := k.ListValue.GetValues()
		d.held += len(vs) * int(p.elem.size)
		if len(vs) == 0 {
			v.Set(p.emptySlice)
			return
		}
		// A new array of exactly its elements, as the slice's own: nothing
		// that appends to it writes into another's.
		v.SetZero()
		v.Grow(len(vs))
		v.SetLen(len(vs))
		v.SetCap(len(vs))
		for i, ev := range vs {
			d.decode(ev, v.Index(i), p.elem, nil)
		}
	}
}

// timeOf is the RFC 3339 time pv holds, as it encodes: to the second. A
// time decodes to what it encodes to, so that the function decides the same
// on what it reads as on what it wrote; one whose encoding, in UTC, is not
// RFC 3339 (before year 0 or after 9999) is not a time, as the API server
// would refuse its encoding.
func timeOf(pv *structpb.Value) (time.Time, bool) {
	s, ok := pv.GetKind().(*structpb.Value_StringValue)
	if !ok {
		return time.Time{}, false
	}
	tm, err := time.Parse(time.RFC3339, s.StringValue)
	if err != nil {
		return time.Time{}, false
	}
	if y := tm.UTC().Year(); y < 0 || y > 9999 {
		return time.Time{}, false
	}
	return tm.Add(-time.Duration(tm.Nanosecond())), true
}

// setNumber sets v, of kind p, to n as Go converts n to int64, uint64 or
// float64 and that to v's type (reflect's SetInt, SetUint and SetFloat);
// values of other kinds are left alone.
func (p *plan) setNumber(v reflect.Value, n float64) {
	switch p.kind { // Numbers decode into numbers only.
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(n))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		v.SetUint(uint64(n))
	case reflect.Float32, reflect.Float64:
		v.SetFloat(n)
	}
}

// fits reports whether pv may decode into a value of type p, not a time:
// a pointer to one is made only for a value that does.
func fits(pv *structpb.Value, p *plan) bool {
	if p.unmarshaler {
		return true
	}
	switch pv.GetKind().(type) {
	case *structpb.Value_StringValue:
		return p.kind == reflect.String || p.bytes
	case *structpb.Value_StructValue:
		return p.kind == reflect.Struct || p.kind == reflect.Map
	case *structpb.Value_ListValue:
		return p.kind == reflect.Slice
	case *structpb.Value_BoolValue:
		return p.kind == reflect.Bool
	case *structpb.Value_NumberValue:
		return p.kind >= reflect.Int && p.kind <= reflect.Float64
	}
	return false
}

// mapEntryOverhead is roughly what a map holds per entry besides its key
// and value: its share of control words and of growth room.
const mapEntryOverhead = 16

// alloc returns a pointer to a new zero value of type p.
func (d *Decoder) alloc(p *plan) reflect.Value {
	d.held += int(p.size)
	return reflect.New(p.typ)
}
