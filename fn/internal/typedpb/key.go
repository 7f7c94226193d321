package typedpb

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"reflect"
	"slices"
	"unsafe"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// AppendKey appends to dst a key of the value v points to: values of one
// type with equal keys encode to equal Structs. It allocates nothing for
// structs, pointers, slices, strings, numbers and times, so that a caller
// can look up what it encoded before for less than encoding it again.
func AppendKey(dst []byte, v any) []byte {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return append(dst, 0)
	}
	return appendKey(dst, rv.UnsafePointer(), planOf(rv.Type().Elem()))
}

// appendKey appends the key of the value of type p at ptr. Every variable
// length part is prefixed with its length, so that no two values share a
// key.
func appendKey(dst []byte, ptr unsafe.Pointer, p *plan) []byte {
	if p.time {
		t := (*metav1.Time)(ptr).Time
		if t.IsZero() {
			return append(dst, 0)
		}
		// As encoded: to the second, in UTC.
		return binary.AppendVarint(append(dst, 1), t.Unix())
	}
	switch p.kind {
	case reflect.Pointer:
		q := *(*unsafe.Pointer)(ptr)
		if q == nil {
			return append(dst, 0)
		}
		return appendKey(append(dst, 1), q, p.elem)
	case reflect.Interface:
		v := p.at(ptr)
		if v.IsNil() {
			return append(dst, 0)
		}
		// The dynamic type, then its value; a type is one per process.
		c := reflect.New(v.Elem().Type())
		c.Elem().Set(v.Elem())
		dst = binary.AppendUvarint(append(dst, 1), uint64(uintptr(unsafe.Pointer(planOf(v.Elem().Type())))))
		return appendKey(dst, c.UnsafePointer(), planOf(v.Elem().Type()))
	}
	if p.marshaler {
		b, err := p.at(ptr).Interface().(json.Marshaler).MarshalJSON() //nolint:forcetypeassert // p.marshaler says it is one.
		if err != nil {
			return appendString(append(dst, 0), err.Error())
		}
		return appendString(append(dst, 1), string(b))
	}
	switch p.kind {
	case reflect.Bool:
		if *(*bool)(ptr) {
			return append(dst, 1)
		}
		return append(dst, 0)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		return binary.LittleEndian.AppendUint64(dst, math.Float64bits(p.number(ptr)))
	case reflect.String:
		return appendString(dst, *(*string)(ptr))
	case reflect.Struct:
		if zero(ptr, p.size) { // most of what a composed object could say
			return append(dst, 0)
		}
		dst = append(dst, 1)
		for i := range p.fields {
			dst = appendKey(dst, unsafe.Add(ptr, p.fields[i].offset), p.fields[i].plan)
		}
		return dst
	case reflect.Slice:
		h := (*sliceHeader)(ptr)
		if h.data == nil {
			return append(dst, 0)
		}
		dst = binary.AppendUvarint(append(dst, 1), uint64(h.len))
		for i := range h.len {
			dst = appendKey(dst, unsafe.Add(h.data, uintptr(i)*p.elem.size), p.elem)
		}
		return dst
	case reflect.Array:
		for i := range p.typ.Len() {
			dst = appendKey(dst, unsafe.Add(ptr, uintptr(i)*p.elem.size), p.elem)
		}
		return dst
	case reflect.Map:
		if *(*unsafe.Pointer)(ptr) == nil {
			return append(dst, 0)
		}
		v := p.at(ptr)
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int {
			switch {
			case a.String() < b.String():
				return -1
			case a.String() > b.String():
				return 1
			}
			return 0
		})
		dst = binary.AppendUvarint(append(dst, 1), uint64(len(keys)))
		c := reflect.New(p.typ.Elem())
		for _, k := range keys {
			dst = appendString(dst, k.String())
			c.Elem().Set(v.MapIndex(k))
			dst = appendKey(dst, c.UnsafePointer(), p.elem)
		}
		return dst
	}
	// A kind that does not encode (a func, a channel): Struct fails on it.
	return append(dst, 0xff)
}

func appendString(dst []byte, s string) []byte {
	return append(binary.AppendUvarint(dst, uint64(len(s))), s...)
}
