package typedpb

import (
	"fmt"
	"reflect"
	"runtime"
)

// A Selection is the fields of a struct type that a Decoder decodes: what
// the caller reads, so that a Decoder skips every other subtree of an
// object, however large. Its fields are Go fields, named by the compiler, not
// JSON names spelled by hand.
type Selection struct {
	plan *plan
	sel  *selection
}

// A selection is the fields of one struct type to decode; a nil *selection
// is all of them.
type selection struct {
	fields []selected
}

type selected struct {
	f   *field
	sub *selection // nil: the whole field
}

// Select is the fields of a T that pick returns pointers to, given a T:
//
//	typedpb.Select(func(t *v1alpha1.Ticket) []any {
//		return []any{&t.Spec.ForProvider.Change, &t.Status.Conditions}
//	})
//
// A field is decoded whole, with everything below it. Fields must be reached
// through struct values only, not through pointers, slices or maps: pick is
// given a zero T. Select panics if a pointer is not to a field of the T it
// was given, or to a field without a JSON name; call it once, at start-up.
func Select[T any](pick func(*T) []any) Selection {
	t := reflect.TypeFor[T]()
	if t.Kind() != reflect.Struct {
		panic(fmt.Sprintf("typedpb: cannot select fields of %s: not a struct", t))
	}
	p := new(T)
	// Fields are told apart by their addresses in *p, which lives until
	// KeepAlive.
	base := reflect.ValueOf(p).Pointer()
	sel := &selection{}
	for _, f := range pick(p) {
		fv := reflect.ValueOf(f)
		if fv.Kind() != reflect.Pointer || fv.IsNil() {
			panic(fmt.Sprintf("typedpb: cannot select %T of %s: not a pointer to a field", f, t))
		}
		off, ft := fv.Pointer()-base, fv.Type().Elem()
		if fv.Pointer() < base || off+ft.Size() > t.Size() {
			panic(fmt.Sprintf("typedpb: cannot select %s: not a field of %s", ft, t))
		}
		if !sel.add(t, off, ft) {
			panic(fmt.Sprintf("typedpb: cannot select the %s at offset %d of %s: not a field with a JSON name", ft, off, t))
		}
	}
	runtime.KeepAlive(p)
	return Selection{plan: planOf(t), sel: sel}
}

// add selects the field of type ft at offset off of struct type t, or the
// fields of t an inline struct of type ft at off holds.
func (s *selection) add(t reflect.Type, off uintptr, ft reflect.Type) bool {
	size := ft.Size()
	added := false
	p := planOf(t)
	for i := range p.fields {
		f := &p.fields[i]
		fsize := f.plan.size
		switch {
		case f.offset == off && f.typ == ft:
			s.whole(f)
			return true
		case f.typ.Kind() == reflect.Struct && off >= f.offset && off+size <= f.offset+fsize:
			e := s.entry(f)
			if e.sub == nil {
				return true // already selected whole
			}
			return e.sub.add(f.typ, off-f.offset, ft)
		case size > 0 && f.offset >= off && f.offset < off+size && f.offset+fsize <= off+size:
			// A field of an inline struct selected whole.
			s.whole(f)
			added = true
		}
	}
	return added
}

// whole selects f with everything below it.
func (s *selection) whole(f *field) {
	for i := range s.fields {
		if s.fields[i].f == f {
			s.fields[i].sub = nil
			return
		}
	}
	s.fields = append(s.fields, selected{f: f})
}

// entry is f's entry, added with an empty sub-selection if f is not selected
// yet.
func (s *selection) entry(f *field) *selected {
	for i := range s.fields {
		if s.fields[i].f == f {
			return &s.fields[i]
		}
	}
	s.fields = append(s.fields, selected{f: f, sub: &selection{}})
	return &s.fields[len(s.fields)-1]
}
