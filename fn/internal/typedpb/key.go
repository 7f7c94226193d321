package typedpb

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"reflect"
	"slices"
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
	return appendKey(dst, rv.Elem(), planOf(rv.Type().Elem()))
}

// appendKey appends the key of v, of type p. Every variable length part is
// prefixed with its length, so that no two values share a key.
func appendKey(dst []byte, v reflect.Value, p *plan) []byte {
	if p.time {
		t := timeAt(v).Time
		if t.IsZero() {
			return append(dst, 0)
		}
		// As encoded: to the second, in UTC.
		return binary.AppendVarint(append(dst, 1), t.Unix())
	}
	switch p.kind {
	case reflect.Pointer:
		if v.IsNil() {
			return append(dst, 0)
		}
		return appendKey(append(dst, 1), v.Elem(), p.elem)
	case reflect.Interface:
		if v.IsNil() {
			return append(dst, 0)
		}
		// The dynamic type, then its value.
		c := reflect.New(v.Elem().Type()).Elem()
		c.Set(v.Elem())
		cp := planOf(c.Type())
		return appendKey(binary.AppendUvarint(append(dst, 1), cp.id), c, cp)
	}
	if p.marshaler {
		b, err := v.Interface().(json.Marshaler).MarshalJSON() //nolint:forcetypeassert // p.marshaler says it is one.
		if err != nil {
			return appendString(append(dst, 0), err.Error())
		}
		return appendString(append(dst, 1), string(b))
	}
	switch p.kind {
	case reflect.Bool:
		if v.Bool() {
			return append(dst, 1)
		}
		return append(dst, 0)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		return binary.LittleEndian.AppendUint64(dst, math.Float64bits(p.number(v)))
	case reflect.String:
		return appendString(dst, v.String())
	case reflect.Struct:
		if p.zero(v) { // most of what a composed object could say
			return append(dst, 0)
		}
		dst = append(dst, 1)
		for i := range p.fields {
			dst = appendKey(dst, p.fields[i].of(v), p.fields[i].plan)
		}
		return dst
	case reflect.Slice:
		if v.IsNil() {
			return append(dst, 0)
		}
		dst = binary.AppendUvarint(append(dst, 1), uint64(v.Len()))
		for i := range v.Len() {
			dst = appendKey(dst, v.Index(i), p.elem)
		}
		return dst
	case reflect.Array:
		for i := range v.Len() {
			dst = appendKey(dst, v.Index(i), p.elem)
		}
		return dst
	case reflect.Map:
		if v.IsNil() {
			return append(dst, 0)
		}
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
		c := reflect.New(p.typ.Elem()).Elem()
		for _, k := range keys {
			dst = appendString(dst, k.String())
			c.Set(v.MapIndex(k))
			dst = appendKey(dst, c, p.elem)
		}
		return dst
	}
	// A kind that does not encode (a func, a channel): Struct fails on it.
	return append(dst, 0xff)
}

func appendString(dst []byte, s string) []byte {
	return append(binary.AppendUvarint(dst, uint64(len(s))), s...)
}
