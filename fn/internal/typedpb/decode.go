package typedpb

import (
	"encoding/base64"
	"encoding/json"
	"reflect"
	"time"
	"unsafe"

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
	d.object(s, v.UnsafePointer(), planOf(v.Type().Elem()), nil)
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
	d.object(s, v.UnsafePointer(), sel.plan, sel.sel)
	return d.held
}

// object decodes s into the struct of type p at ptr: the fields sel selects,
// all of them if sel is nil.
func (d *Decoder) object(s *structpb.Struct, ptr unsafe.Pointer, p *plan, sel *selection) {
	fields := s.GetFields()
	if sel != nil {
		for i := range sel.fields {
			e := &sel.fields[i]
			if fv := fields[e.f.name]; fv != nil {
				d.decode(fv, unsafe.Add(ptr, e.f.offset), e.f.plan, e.sub)
			}
		}
		return
	}
	// Looking each field up costs less than going through the object,
	// unless the struct has many more fields than the object.
	if len(p.named) <= 2*len(fields)+2 {
		for _, f := range p.named {
			if fv := fields[f.name]; fv != nil {
				d.decode(fv, unsafe.Add(ptr, f.offset), f.plan, nil)
			}
		}
		return
	}
	for name, fv := range fields {
		if f := p.byName[name]; f != nil {
			d.decode(fv, unsafe.Add(ptr, f.offset), f.plan, nil)
		}
	}
}

// decode decodes pv into the value of type p at ptr: if it is a struct, the
// fields sel selects.
func (d *Decoder) decode(pv *structpb.Value, ptr unsafe.Pointer, p *plan, sel *selection) {
	if _, ok := pv.GetKind().(*structpb.Value_NullValue); ok || pv == nil {
		return
	}
	if d.ignore != nil && d.ignore[p] {
		return
	}
	if p.time {
		if tm, ok := timeOf(pv); ok {
			*(*metav1.Time)(ptr) = metav1.Time{Time: tm}
		}
		return
	}
	if p.kind == reflect.Pointer {
		if p.elem.time { // parsed once, not once to see whether it fits
			if tm, ok := timeOf(pv); ok {
				q := d.alloc(p.elem, 1)
				*(*metav1.Time)(q) = metav1.Time{Time: tm}
				*(*unsafe.Pointer)(ptr) = q
			}
			return
		}
		if !fits(pv, p.elem) {
			return
		}
		q := d.alloc(p.elem, 1)
		d.decode(pv, q, p.elem, nil)
		*(*unsafe.Pointer)(ptr) = q
		return
	}
	if p.unmarshaler {
		if b, err := pv.MarshalJSON(); err == nil {
			_ = reflect.NewAt(p.typ, ptr).Interface().(json.Unmarshaler).UnmarshalJSON(b) //nolint:forcetypeassert // Checked above.
			d.held += len(b)
		}
		return
	}
	switch k := pv.GetKind().(type) {
	case *structpb.Value_BoolValue:
		if p.kind == reflect.Bool {
			*(*bool)(ptr) = k.BoolValue
		}
	case *structpb.Value_NumberValue:
		p.setNumber(ptr, k.NumberValue)
	case *structpb.Value_StringValue:
		switch {
		case p.kind == reflect.String:
			*(*string)(ptr) = k.StringValue
			d.held += len(k.StringValue)
		case p.bytes:
			if b, err := base64.StdEncoding.DecodeString(k.StringValue); err == nil {
				*(*[]byte)(ptr) = b
				d.held += len(b)
			}
		}
	case *structpb.Value_StructValue:
		switch p.kind {
		case reflect.Struct:
			d.object(k.StructValue, ptr, p, sel)
		case reflect.Map:
			if p.typ.Key().Kind() != reflect.String {
				return
			}
			f := k.StructValue.GetFields()
			m := reflect.MakeMapWithSize(p.typ, len(f))
			for name, fv := range f {
				e := reflect.New(p.typ.Elem())
				d.decode(fv, e.UnsafePointer(), p.elem, nil)
				m.SetMapIndex(reflect.ValueOf(name).Convert(p.typ.Key()), e.Elem())
				d.held += len(name) + int(p.elem.size) + mapEntryOverhead
			}
			p.at(ptr).Set(m)
		}
	case *structpb.Value_ListValue:
		if p.kind != reflect.Slice {
			return
		}
		vs := k.ListValue.GetValues()
		q := d.alloc(p.elem, len(vs))
		for i, ev := range vs {
			d.decode(ev, unsafe.Add(q, uintptr(i)*p.elem.size), p.elem, nil)
		}
		*(*sliceHeader)(ptr) = sliceHeader{data: q, len: len(vs), cap: len(vs)}
	}
}

// timeOf is the RFC 3339 time pv holds.
func timeOf(pv *structpb.Value) (time.Time, bool) {
	s, ok := pv.GetKind().(*structpb.Value_StringValue)
	if !ok {
		return time.Time{}, false
	}
	tm, err := time.Parse(time.RFC3339, s.StringValue)
	return tm, err == nil
}

// setNumber sets the number of kind p at ptr to n; values of other kinds
// are left alone.
func (p *plan) setNumber(ptr unsafe.Pointer, n float64) {
	switch p.kind {
	case reflect.Int:
		*(*int)(ptr) = int(n)
	case reflect.Int8:
		*(*int8)(ptr) = int8(n)
	case reflect.Int16:
		*(*int16)(ptr) = int16(n)
	case reflect.Int32:
		*(*int32)(ptr) = int32(n)
	case reflect.Int64:
		*(*int64)(ptr) = int64(n)
	case reflect.Uint:
		*(*uint)(ptr) = uint(n)
	case reflect.Uint8:
		*(*uint8)(ptr) = uint8(n)
	case reflect.Uint16:
		*(*uint16)(ptr) = uint16(n)
	case reflect.Uint32:
		*(*uint32)(ptr) = uint32(n)
	case reflect.Uint64:
		*(*uint64)(ptr) = uint64(n)
	case reflect.Uintptr:
		*(*uintptr)(ptr) = uintptr(n)
	case reflect.Float32:
		*(*float32)(ptr) = float32(n)
	case reflect.Float64:
		*(*float64)(ptr) = n
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

// alloc returns room for n zero values of type p.
func (d *Decoder) alloc(p *plan, n int) unsafe.Pointer {
	d.held += n * int(p.size)
	if n == 1 {
		return reflect.New(p.typ).UnsafePointer()
	}
	return reflect.New(reflect.ArrayOf(n, p.typ)).UnsafePointer()
}
