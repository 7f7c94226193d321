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
// it decodes share the Structs' memory; the pointers and slices it makes
// come from blocks shared by everything it decodes.
type Decoder struct {
	blocks map[reflect.Type]*block
	plans  planCache
	ignore map[reflect.Type]bool
}

// A block is room for blockSize values of one type, left of them unused.
type block struct {
	base unsafe.Pointer
	left int
}

const blockSize = 64

// NewDecoder returns a Decoder that leaves the values of the types ignore
// points to alone.
func NewDecoder(ignore ...any) *Decoder {
	d := &Decoder{blocks: map[reflect.Type]*block{}, plans: planCache{}, ignore: map[reflect.Type]bool{}}
	for _, i := range ignore {
		d.ignore[reflect.TypeOf(i).Elem()] = true
	}
	return d
}

// Struct decodes s into the struct into points to. Fields s does not hold
// keep their value; values of another type than their field's are ignored.
func (d *Decoder) Struct(s *structpb.Struct, into any) {
	v := reflect.ValueOf(into)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct || v.IsNil() {
		return
	}
	d.object(s, v.Elem())
}

func (d *Decoder) object(s *structpb.Struct, v reflect.Value) {
	fs := d.plans.of(v.Type())
	for name, fv := range s.GetFields() {
		if f := fs.byName[name]; f != nil {
			d.decode(fv, v.FieldByIndex(f.index))
		}
	}
}

// decode decodes pv into v, which is addressable.
func (d *Decoder) decode(pv *structpb.Value, v reflect.Value) {
	if _, ok := pv.GetKind().(*structpb.Value_NullValue); ok || pv == nil {
		return
	}
	t := v.Type()
	if d.ignore[t] {
		return
	}
	if t == timeType {
		if s, ok := pv.GetKind().(*structpb.Value_StringValue); ok {
			if tm, err := time.Parse(time.RFC3339, s.StringValue); err == nil {
				*(*metav1.Time)(v.Addr().UnsafePointer()) = metav1.Time{Time: tm}
			}
		}
		return
	}
	if t.Kind() == reflect.Pointer {
		if !d.fits(pv, t.Elem()) {
			return
		}
		p := d.alloc(t.Elem(), 1)
		d.decode(pv, reflect.NewAt(t.Elem(), p).Elem())
		v.Set(reflect.NewAt(t.Elem(), p))
		return
	}
	if d.plans.of(t).unmarshaler {
		if b, err := pv.MarshalJSON(); err == nil {
			_ = v.Addr().Interface().(json.Unmarshaler).UnmarshalJSON(b) //nolint:forcetypeassert // Checked above.
		}
		return
	}
	switch k := pv.GetKind().(type) {
	case *structpb.Value_BoolValue:
		if t.Kind() == reflect.Bool {
			v.SetBool(k.BoolValue)
		}
	case *structpb.Value_NumberValue:
		switch t.Kind() { //nolint:exhaustive // Numbers decode into numbers only.
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			v.SetInt(int64(k.NumberValue))
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
			v.SetUint(uint64(k.NumberValue))
		case reflect.Float32, reflect.Float64:
			v.SetFloat(k.NumberValue)
		}
	case *structpb.Value_StringValue:
		switch {
		case t.Kind() == reflect.String:
			v.SetString(k.StringValue)
		case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8:
			if b, err := base64.StdEncoding.DecodeString(k.StringValue); err == nil {
				v.SetBytes(b)
			}
		}
	case *structpb.Value_StructValue:
		switch t.Kind() { //nolint:exhaustive // Objects decode into structs and maps only.
		case reflect.Struct:
			d.object(k.StructValue, v)
		case reflect.Map:
			if t.Key().Kind() != reflect.String {
				return
			}
			f := k.StructValue.GetFields()
			m := reflect.MakeMapWithSize(t, len(f))
			for name, fv := range f {
				e := reflect.New(t.Elem()).Elem()
				d.decode(fv, e)
				m.SetMapIndex(reflect.ValueOf(name).Convert(t.Key()), e)
			}
			v.Set(m)
		}
	case *structpb.Value_ListValue:
		if t.Kind() != reflect.Slice {
			return
		}
		vs := k.ListValue.GetValues()
		et := t.Elem()
		p := d.alloc(et, len(vs))
		for i, ev := range vs {
			d.decode(ev, reflect.NewAt(et, unsafe.Add(p, uintptr(i)*et.Size())).Elem())
		}
		// v is a slice of et: point it at the n values decoded at p.
		*(*sliceHeader)(v.Addr().UnsafePointer()) = sliceHeader{data: p, len: len(vs), cap: len(vs)}
	}
}

// fits reports whether pv may decode into a t: a pointer to t is made only
// for a value that does.
func (d *Decoder) fits(pv *structpb.Value, t reflect.Type) bool {
	if d.plans.of(t).unmarshaler && t != timeType {
		return true
	}
	switch k := pv.GetKind().(type) {
	case *structpb.Value_StringValue:
		if t == timeType {
			_, err := time.Parse(time.RFC3339, k.StringValue)
			return err == nil
		}
		return t.Kind() == reflect.String || t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8
	case *structpb.Value_StructValue:
		return t != timeType && (t.Kind() == reflect.Struct || t.Kind() == reflect.Map)
	case *structpb.Value_ListValue:
		return t.Kind() == reflect.Slice
	case *structpb.Value_BoolValue:
		return t.Kind() == reflect.Bool
	case *structpb.Value_NumberValue:
		return t.Kind() >= reflect.Int && t.Kind() <= reflect.Float64
	}
	return false
}

type sliceHeader struct {
	data     unsafe.Pointer
	len, cap int
}

// alloc returns room for n zero values of type t.
func (d *Decoder) alloc(t reflect.Type, n int) unsafe.Pointer {
	if n == 0 {
		return reflect.New(reflect.ArrayOf(0, t)).UnsafePointer()
	}
	if n > blockSize/4 {
		return reflect.New(reflect.ArrayOf(n, t)).UnsafePointer()
	}
	b := d.blocks[t]
	if b == nil || b.left < n {
		b = &block{base: reflect.New(reflect.ArrayOf(blockSize, t)).UnsafePointer(), left: blockSize}
		d.blocks[t] = b
	}
	p := b.base
	b.left -= n
	if b.left > 0 {
		b.base = unsafe.Add(b.base, uintptr(n)*t.Size())
	} else {
		b.base = nil // never past the end of the block
	}
	return p
}
