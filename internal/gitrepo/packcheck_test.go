package gitrepo

import (
	"bytes"
	"compress/zlib"
	"crypto/sha1" // Git's pack checksum
	"encoding/binary"
	"errors"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
)

// packObject is one object of a hand-built pack.
type packObject struct {
	typ      byte
	data     []byte // inflated: an object's content, or a delta's data
	declared int64  // size in the header; -1 is len(data)
	ofsBase  int    // OFS_DELTA: index of the base object
	ofsDelta int64  // OFS_DELTA: base offset written as is, instead of ofsBase's
	zlib     []byte // the compressed stream, instead of zlib(data)
}

// builtPack is a hand-built pack and where its parts start.
type builtPack struct {
	bytes []byte
	start []int // of each object
	data  []int // of each object's zlib stream
}

// buildPack writes a version 2 pack holding objs; count < 0 declares
// len(objs) objects.
func buildPack(count int, objs ...packObject) builtPack {
	var b bytes.Buffer
	p := builtPack{}
	b.WriteString("PACK")
	_ = binary.Write(&b, binary.BigEndian, uint32(2))
	if count < 0 {
		count = len(objs)
	}
	_ = binary.Write(&b, binary.BigEndian, uint32(count))
	for _, o := range objs {
		p.start = append(p.start, b.Len())
		size := o.declared
		if size < 0 {
			size = int64(len(o.data))
		}
		c := o.typ<<4 | byte(size&0x0f)
		size >>= 4
		for size > 0 {
			b.WriteByte(c | 0x80)
			c = byte(size & 0x7f)
			size >>= 7
		}
		b.WriteByte(c)
		switch o.typ {
		case objOfsDelta:
			off := o.ofsDelta
			if off == 0 {
				off = int64(p.start[len(p.start)-1] - p.start[o.ofsBase])
			}
			b.Write(ofsEncode(off))
		case objRefDelta:
			b.Write(make([]byte, 20))
		}
		p.data = append(p.data, b.Len())
		if o.zlib != nil {
			b.Write(o.zlib)
			continue
		}
		b.Write(deflate(o.data))
	}
	sum := sha1.Sum(b.Bytes())
	b.Write(sum[:])
	p.bytes = b.Bytes()
	return p
}

func ofsEncode(off int64) []byte {
	out := []byte{byte(off & 0x7f)}
	for off >>= 7; off > 0; off >>= 7 {
		off--
		out = append([]byte{0x80 | byte(off&0x7f)}, out...)
	}
	return out
}

func deflate(data []byte) []byte {
	var z bytes.Buffer
	w := zlib.NewWriter(&z)
	_, _ = w.Write(data)
	_ = w.Close()
	return z.Bytes()
}

func varint(n uint64) []byte {
	var out []byte
	for {
		c := byte(n & 0x7f)
		n >>= 7
		if n == 0 {
			return append(out, c)
		}
		out = append(out, c|0x80)
	}
}

// deltaOf is delta data that builds result bytes from base by copying the
// base's first n bytes over and over (git's copy instruction: offset 0,
// size n), at most 4096 copies: past that it only declares result.
func deltaOf(base, result uint64, n byte) []byte {
	d := append(varint(base), varint(result)...)
	for left, i := result, 0; left > 0 && i < 4096; left, i = left-min(left, uint64(n)), i+1 {
		d = append(d, 0x80|0x10, n)
	}
	return d
}

func blob(s string) packObject { return packObject{typ: objBlob, data: []byte(s), declared: -1} }

func zeros(n int) packObject { return packObject{typ: objBlob, data: make([]byte, n), declared: -1} }

func ofsDelta(base int, data []byte) packObject {
	return packObject{typ: objOfsDelta, ofsBase: base, data: data, declared: -1}
}

// emptyBlocks is a zlib stream of n empty stored blocks, then an empty
// final one: it inflates to nothing.
func emptyBlocks(n int) []byte {
	out := []byte{0x78, 0x01}
	for range n {
		out = append(out, 0x00, 0x00, 0x00, 0xff, 0xff)
	}
	out = append(out, 0x01, 0x00, 0x00, 0xff, 0xff)
	return append(out, 0, 0, 0, 1) // adler32 of nothing
}

var testPackLimits = PackLimits{MaxObjectBytes: 1024, MaxObjects: 16, MaxInflatedBytes: 4096}

func validate(in []byte, l PackLimits) ([]byte, error) { return validateKnown(in, l, nil) }

func validateKnown(in []byte, l PackLimits, known func(plumbing.Hash) bool) ([]byte, error) {
	var out bytes.Buffer
	_, err := io.Copy(&out, newPackValidator(bytes.NewReader(in), l, known))
	return out.Bytes(), err
}

// TestPackValidator: a pack passes only as far as its objects are within
// the limits; the bytes of an object over a bound, and all after it, never
// do.
func TestPackValidator(t *testing.T) {
	valid := buildPack(-1, blob("hello"), packObject{typ: objTree, data: []byte("tree"), declared: -1},
		ofsDelta(0, append(append(varint(5), varint(7)...), 0x91, 0, 5, 2, '!', '!')),
		packObject{typ: objRefDelta, data: deltaOf(5, 10, 5), declared: -1})
	tooLarge := buildPack(-1, blob("a"), zeros(1025), blob("b"))
	hugeDelta := buildPack(-1, zeros(64), ofsDelta(0, append(append(varint(64), varint(1<<40)...), 0x90, 64)))
	bigDeltaData := buildPack(-1, zeros(64), ofsDelta(0, append(deltaOf(64, 64, 64), make([]byte, 1024)...)))
	inflated := buildPack(-1, zeros(1000), zeros(1000), zeros(1000), zeros(1000), zeros(1000))
	chain := []packObject{zeros(1000)}
	for i := range 8 {
		chain = append(chain, ofsDelta(i, deltaOf(1000, 1000, 100)))
	}
	longChain := buildPack(-1, chain...)
	more := buildPack(-1, blob("a"), packObject{typ: objBlob, data: []byte("hello"), declared: 3})
	less := buildPack(-1, blob("a"), packObject{typ: objBlob, data: []byte("hello"), declared: 9})
	badType := buildPack(-1, blob("a"), packObject{typ: 5, data: []byte("x"), declared: -1})
	badOfs := buildPack(-1, blob("abc"), blob("def"), packObject{typ: objOfsDelta, ofsDelta: 3, data: deltaOf(3, 3, 3), declared: -1})
	empty := buildPack(-1, blob("a"), packObject{typ: objBlob, zlib: emptyBlocks(maxStepBytes / 5), declared: 0})
	noObjects := buildPack(0)
	// A thin pack: REF_DELTAs on objects the clone holds already.
	var thin []packObject
	for range 10 {
		thin = append(thin, packObject{typ: objRefDelta, data: deltaOf(1000, 1000, 100), declared: -1})
	}
	thinPack := buildPack(-1, thin...)
	big := PackLimits{MaxObjectBytes: 1024, MaxObjects: 16, MaxInflatedBytes: 1 << 20}

	cases := map[string]struct {
		in     []byte
		limits PackLimits // testPackLimits if zero
		known  bool       // the clone holds every REF_DELTA base
		err    error
		passed int // bytes passed on
	}{
		"Valid":                 {in: valid.bytes, passed: len(valid.bytes)},
		"ThinPack":              {in: thinPack.bytes, limits: big, known: true, passed: len(thinPack.bytes)},
		"RefDeltasOnDeltas":     {in: thinPack.bytes, limits: big, err: ErrTooLarge, passed: thinPack.data[4] + 2},
		"NoPack":                {in: nil},
		"NoObjects":             {in: noObjects.bytes, passed: len(noObjects.bytes)},
		"TooManyObjects":        {in: buildPack(17).bytes, err: ErrTooLarge},
		"ObjectTooLarge":        {in: tooLarge.bytes, err: ErrTooLarge, passed: tooLarge.start[1]},
		"DeltaBuildsTooLarge":   {in: hugeDelta.bytes, err: ErrTooLarge, passed: hugeDelta.data[1] + 2},
		"DeltaDataTooLarge":     {in: bigDeltaData.bytes, err: ErrTooLarge, passed: bigDeltaData.start[1]},
		"PackInflatesTooMuch":   {in: inflated.bytes, err: ErrTooLarge, passed: inflated.start[4]},
		"DeltaChainTooLong":     {in: longChain.bytes, limits: PackLimits{MaxObjectBytes: 1024, MaxObjects: 16, MaxInflatedBytes: 1 << 20}, err: ErrTooLarge, passed: longChain.data[8] + 2},
		"InflatesMore":          {in: more.bytes, err: errPackMalformed, passed: more.data[1] + 2},
		"InflatesLess":          {in: less.bytes, err: errPackMalformed, passed: less.data[1] + 2},
		"NotAPack":              {in: []byte("<html>not a pack</html>"), err: errPackMalformed},
		"Version4":              {in: append([]byte("PACK\x00\x00\x00\x04"), valid.bytes[8:]...), err: errPackMalformed},
		"NoGitType":             {in: badType.bytes, err: errPackMalformed, passed: badType.start[1]},
		"BaseIsNoObject":        {in: badOfs.bytes, err: errPackMalformed, passed: badOfs.start[2]},
		"Truncated":             {in: valid.bytes[:valid.data[1]+3], err: errPackMalformed, passed: valid.data[1] + 2},
		"NoChecksum":            {in: valid.bytes[:len(valid.bytes)-20], err: errPackMalformed, passed: len(valid.bytes) - 20},
		"DataAfterChecksum":     {in: append(bytes.Clone(valid.bytes), 'x'), err: errPackMalformed, passed: len(valid.bytes)},
		"CompressedNothingness": {in: empty.bytes, err: errPackMalformed, passed: empty.data[1] + 2},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			l := tc.limits
			if l == (PackLimits{}) {
				l = testPackLimits
			}
			var known func(plumbing.Hash) bool
			if tc.known {
				known = func(plumbing.Hash) bool { return true }
			}
			out, err := validateKnown(tc.in, l, known)
			if diff := cmp.Diff(tc.err, err, cmpopts.EquateErrors()); diff != "" {
				t.Errorf("validate(...): -want error, +got:\n%s", diff)
			}
			t.Logf("error: %v", err)
			if diff := cmp.Diff(tc.passed, len(out)); diff != "" {
				t.Errorf("validate(...): -want, +got bytes passed on:\n%s", diff)
			}
			if !bytes.HasPrefix(tc.in, out) {
				t.Error("validate(...): what passed is not the start of the pack")
			}
			if errors.Is(err, ErrTooLarge) && !bytes.Contains([]byte(err.Error()), []byte("--git-")) {
				t.Errorf("error %q names no flag to raise", err)
			}
		})
	}
}

// FuzzPackValidator: whatever the input, the validator never panics, passes
// on only a prefix of it, refuses only with its own errors, and a pack it
// accepts whole stays within the limits as go-git reads it.
func FuzzPackValidator(f *testing.F) {
	f.Add(buildPack(-1, blob("hello"), ofsDelta(0, deltaOf(5, 20, 5))).bytes)
	f.Add(buildPack(-1, zeros(1000), zeros(100), ofsDelta(1, deltaOf(100, 1000, 100))).bytes)
	f.Add(buildPack(-1, packObject{typ: objRefDelta, data: deltaOf(5, 10, 5), declared: -1}).bytes)
	f.Add(buildPack(-1, zeros(2000)).bytes)
	f.Add(buildPack(0).bytes)
	f.Fuzz(func(t *testing.T, in []byte) {
		l := PackLimits{MaxObjectBytes: 1024, MaxObjects: 8, MaxInflatedBytes: 4096}
		out, err := validate(in, l)
		if !bytes.HasPrefix(in, out) {
			t.Fatal("passed on bytes that are not the start of the input")
		}
		if err != nil {
			if !errors.Is(err, ErrTooLarge) && !errors.Is(err, errPackMalformed) {
				t.Fatalf("refused with an error of no kind: %v", err)
			}
			return
		}
		if len(out) != len(in) {
			t.Fatalf("accepted %d of %d bytes", len(out), len(in))
		}
		checkWithinLimits(t, in, l)
	})
}

// checkWithinLimits reads an accepted pack with go-git's own scanner: every
// object, and every object a delta builds, is within the limits.
func checkWithinLimits(t *testing.T, pack []byte, l PackLimits) {
	t.Helper()
	s := packfile.NewScanner(bytes.NewReader(pack))
	_, objects, err := s.Header()
	if err != nil {
		return // a version go-git does not read
	}
	if int64(objects) > l.MaxObjects {
		t.Fatalf("accepted %d objects, bound %d", objects, l.MaxObjects)
	}
	var total int64
	for range objects {
		h, err := s.NextObjectHeader()
		if err != nil {
			t.Fatalf("go-git cannot read an accepted object header: %v", err)
		}
		var data bytes.Buffer
		n, _, err := s.NextObject(&data)
		if err != nil {
			t.Fatalf("go-git cannot inflate an accepted object: %v", err)
		}
		size := n
		if h.Type == plumbing.OFSDeltaObject || h.Type == plumbing.REFDeltaObject {
			_, rest := deltaSize(data.Bytes())
			size, _ = deltaSize(rest)
		}
		if n > l.MaxObjectBytes || size > l.MaxObjectBytes || size < 0 {
			t.Fatalf("accepted an object of %d bytes (%d inflated), bound %d", size, n, l.MaxObjectBytes)
		}
		total += size
	}
	if total > l.MaxInflatedBytes {
		t.Fatalf("accepted a pack of %d inflated bytes, bound %d", total, l.MaxInflatedBytes)
	}
}
