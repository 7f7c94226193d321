package gitrepo

import (
	"bufio"
	"compress/zlib"
	"encoding/binary"
	"io"
	"slices"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/go-git/go-git/v5/plumbing"
)

// Defaults of the bounds on what one fetched pack may cost to index; the
// provider's flags --git-max-object-bytes, --git-max-pack-objects and
// --git-max-pack-inflated-bytes default to them.
const (
	DefaultMaxObjectBytes       int64 = 16 << 20 // 16 MiB per object
	DefaultMaxPackObjects       int64 = 250_000  // go-git keeps a few hundred bytes per object while indexing
	DefaultMaxPackInflatedBytes int64 = 4 << 30  // 4 GiB inflated per pack
)

// PackLimits bound what indexing one fetched pack may cost. go-git inflates
// every object of a pack fully into memory to index it, and a pack's
// compressed size says nothing about that: a few hundred KB of zeros
// declare a 400 MB blob, a few KB of delta copy instructions a multi-GB
// object. Each bound is checked on the pack as it streams in, before go-git
// sees the bytes that would cost it.
type PackLimits struct {
	// MaxObjectBytes bounds one object's inflated size, and the size of the
	// object a delta builds.
	MaxObjectBytes int64
	// MaxObjects bounds the objects one pack holds.
	MaxObjects int64
	// MaxInflatedBytes bounds one pack's objects together, inflated, each
	// delta counted at the size of the object it builds.
	MaxInflatedBytes int64
}

// DefaultPackLimits are the bounds a Cache applies unless told otherwise.
func DefaultPackLimits() PackLimits {
	return PackLimits{
		MaxObjectBytes:   DefaultMaxObjectBytes,
		MaxObjects:       DefaultMaxPackObjects,
		MaxInflatedBytes: DefaultMaxPackInflatedBytes,
	}
}

// chainFactor bounds a delta chain: resolving one object may need at most
// this many times MaxObjectBytes, every object of its chain together.
const chainFactor = 8

func (l PackLimits) maxChainBytes() int64 { return chainFactor * l.MaxObjectBytes }

func (l PackLimits) valid() bool {
	return l.MaxObjectBytes > 0 && l.MaxObjects > 0 && l.MaxInflatedBytes > 0
}

// errPackMalformed marks a pack that is not a well-formed git pack.
var errPackMalformed = errors.New("malformed pack")

func malformed(format string, args ...any) error {
	return withKind(ErrUnreachable, withKind(errPackMalformed, errors.Errorf(format, args...)))
}

const (
	packHeaderBytes = 12
	packTrailerSHA1 = 20
	// inflateChunk is how much of an object one step inflates: the pack
	// bytes it took are passed on before the next chunk is inflated.
	inflateChunk = 32 << 10
	// maxStepBytes bounds the pack bytes one step may consume before they
	// are passed on: an honest zlib stream never needs this many to produce
	// inflateChunk bytes, a stream of empty blocks would hold them all.
	maxStepBytes = 1 << 20
	// maxVarintBytes bounds a size or offset encoding: 10 groups of 7 bits
	// hold any int64.
	maxVarintBytes = 10
)

// Pack object types (git's object_type).
const (
	objCommit   = 1
	objTree     = 2
	objBlob     = 3
	objTag      = 4
	objOfsDelta = 6
	objRefDelta = 7
)

type packState int

const (
	stateHeader packState = iota
	stateObject
	stateInflate
	stateTrailer
	stateEnd
	stateDone
)

// packValidator reads a git pack (version 2 or 3) from src and yields only
// bytes it has already checked against its limits: an object's bytes are
// passed on chunk by chunk as its zlib stream inflates within bounds, so
// whatever reads from the validator never inflates more than the limits
// allow. Any bound passed or any malformation is its error, and nothing
// after the last good chunk is passed on.
type packValidator struct {
	src *recordingReader
	lim PackLimits

	state    packState
	objects  uint32 // objects the pack declares
	seen     uint32 // objects read so far
	zr       io.ReadCloser
	object   int64 // offset of the current object
	delta    bool
	declared int64 // size in the object's header: inflated bytes of its zlib stream
	inflated int64 // inflated so far
	deltaHdr []byte
	total    int64 // inflated bytes of the pack, deltas at their result size

	// What resolving each object costs go-git at most: the bytes of every
	// object on its delta chain, held at once when its cache misses. By
	// object offset, ascending.
	offsets, chains []int64
	baseChain       int64 // of the current delta's base
	maxChain        int64
	// Non-delta objects of the pack by id, so that a REF_DELTA's base is
	// found; known reports an object the clone holds already.
	ids   map[plumbing.Hash]int64
	hash  plumbing.Hasher
	known func(plumbing.Hash) bool

	ready   []byte // checked bytes not yet read
	scratch []byte
	err     error
}

// newPackValidator validates the pack src holds. known, if not nil, reports
// whether the clone holds an object already (the base of a thin pack's
// delta).
func newPackValidator(src io.Reader, lim PackLimits, known func(plumbing.Hash) bool) *packValidator {
	return &packValidator{
		src:     &recordingReader{r: bufio.NewReaderSize(src, 64<<10)},
		lim:     lim,
		scratch: make([]byte, inflateChunk),
		ids:     map[plumbing.Hash]int64{},
		known:   known,
	}
}

// Read yields checked bytes; it returns io.EOF after the pack's trailer,
// and the reason for refusing the pack otherwise.
func (v *packValidator) Read(p []byte) (int, error) {
	for len(v.ready) == 0 {
		if v.err != nil {
			return 0, v.err
		}
		v.src.rec = v.src.rec[:0]
		if err := v.step(); err != nil {
			v.err = err
			continue // what this step consumed is not passed on
		}
		v.ready = v.src.rec
	}
	n := copy(p, v.ready)
	v.ready = v.ready[n:]
	return n, nil
}

// step consumes the next unit of the pack: its header, an object's header,
// a chunk of an object's data, or the trailer.
func (v *packValidator) step() error {
	switch v.state {
	case stateHeader:
		return v.readHeader()
	case stateObject:
		return v.readObjectHeader()
	case stateInflate:
		return v.inflate()
	case stateTrailer:
		if _, err := io.ReadFull(v.src, make([]byte, packTrailerSHA1)); err != nil {
			return malformed("the pack ends before its checksum: %v", err)
		}
		v.state = stateEnd
		return nil
	case stateEnd:
		// A pack is followed by nothing; go-git would ignore what follows.
		if _, err := v.src.ReadByte(); err == nil {
			return malformed("the pack has data after its checksum")
		} else if !errors.Is(err, io.EOF) {
			return err
		}
		v.state = stateDone
		return io.EOF
	}
	return io.EOF
}

func (v *packValidator) readHeader() error {
	var h [packHeaderBytes]byte
	n, err := io.ReadFull(v.src, h[:])
	if n == 0 && err == io.EOF {
		// Nothing at all is no pack, which go-git handles itself.
		v.state = stateDone
		return io.EOF
	}
	if err != nil {
		return malformed("the pack ends within its header: %v", err)
	}
	if string(h[:4]) != "PACK" {
		return malformed("the pack does not start with PACK")
	}
	if version := binary.BigEndian.Uint32(h[4:8]); version != 2 && version != 3 {
		return malformed("pack version %d is not 2 or 3", version)
	}
	v.objects = binary.BigEndian.Uint32(h[8:12])
	if int64(v.objects) > v.lim.MaxObjects {
		return kindf(ErrTooLarge, "the repository sent a pack of %d objects, more than the provider's bound of %d objects per fetch (--git-max-pack-objects): use a repository with less history, or ask the provider's operator to raise the bound", v.objects, v.lim.MaxObjects)
	}
	v.state = stateObject
	if v.objects == 0 {
		v.state = stateTrailer
	}
	return nil
}

func (v *packValidator) readObjectHeader() error {
	v.object = v.src.pos
	b, err := v.src.ReadByte()
	if err != nil {
		return malformed("the pack ends before object %d of %d: %v", v.seen+1, v.objects, noEOF(err))
	}
	typ := (b >> 4) & 7
	size := int64(b & 0x0f)
	shift := uint(4)
	for i := 1; b&0x80 != 0; i++ {
		if i >= maxVarintBytes {
			return malformed("object at offset %d has an overlong size", v.object)
		}
		if b, err = v.src.ReadByte(); err != nil {
			return malformed("the pack ends within an object header: %v", noEOF(err))
		}
		size |= int64(b&0x7f) << shift
		shift += 7
		if size < 0 || shift > 63 {
			return malformed("object at offset %d has an overlong size", v.object)
		}
	}
	switch typ {
	case objCommit, objTree, objBlob, objTag:
		v.delta = false
		if size > v.lim.MaxObjectBytes {
			return v.tooLarge(size)
		}
		if err := v.count(size); err != nil {
			return err
		}
		v.record(size)
		v.hash = plumbing.NewHasher(plumbing.ObjectType(typ), size)
	case objOfsDelta:
		v.delta = true
		if err := v.readBaseOffset(); err != nil {
			return err
		}
	case objRefDelta:
		v.delta = true
		var base plumbing.Hash
		if _, err := io.ReadFull(v.src, base[:]); err != nil {
			return malformed("the pack ends within a delta's base: %v", noEOF(err))
		}
		v.baseChain = v.refBaseChain(base)
	default:
		return malformed("object at offset %d has type %d, which is no git object type", v.object, typ)
	}
	if v.delta && size > v.lim.MaxObjectBytes {
		// A delta's own data is never much larger than what it builds.
		return v.tooLarge(size)
	}
	v.declared, v.inflated, v.deltaHdr = size, 0, v.deltaHdr[:0]
	if v.delta {
		v.hash = plumbing.Hasher{}
	}
	if err := v.startZlib(); err != nil {
		return err
	}
	v.state = stateInflate
	return nil
}

// readBaseOffset reads an OFS_DELTA's base offset (git's offset encoding):
// the base starts that many bytes before this object.
func (v *packValidator) readBaseOffset() error {
	b, err := v.src.ReadByte()
	if err != nil {
		return malformed("the pack ends within a delta's base offset: %v", noEOF(err))
	}
	off := int64(b & 0x7f)
	for b&0x80 != 0 {
		if b, err = v.src.ReadByte(); err != nil {
			return malformed("the pack ends within a delta's base offset: %v", noEOF(err))
		}
		off = (off+1)<<7 | int64(b&0x7f)
		if off > v.object {
			break
		}
	}
	i, ok := slices.BinarySearch(v.offsets, v.object-off)
	if off <= 0 || !ok {
		return malformed("delta at offset %d names a base that is no object before it in the pack", v.object)
	}
	v.baseChain = v.chains[i]
	return nil
}

func (v *packValidator) startZlib() error {
	var err error
	if r, ok := v.zr.(zlib.Resetter); ok {
		err = r.Reset(v.src, nil)
	} else {
		v.zr, err = zlib.NewReader(v.src)
	}
	if err != nil {
		return malformed("object at offset %d: %v", v.object, noEOF(err))
	}
	return nil
}

// inflate inflates the next chunk of the current object. The zlib reader
// reads through an io.ByteReader, so it never consumes past its stream.
func (v *packValidator) inflate() error {
	if v.delta && !v.deltaHeaderRead() {
		return v.readDeltaHeader()
	}
	n, err := v.zr.Read(v.scratch)
	v.inflated += int64(n)
	if v.inflated > v.declared {
		return malformed("object at offset %d inflates to more than the %d bytes its header declares", v.object, v.declared)
	}
	if !v.delta {
		_, _ = v.hash.Write(v.scratch[:n])
	}
	switch {
	case err == io.EOF:
		if v.inflated != v.declared {
			return malformed("object at offset %d inflates to %d bytes, not the %d its header declares", v.object, v.inflated, v.declared)
		}
		if !v.delta {
			v.ids[v.hash.Sum()] = v.declared
		}
		v.seen++
		v.state = stateObject
		if v.seen == v.objects {
			v.state = stateTrailer
		}
		return nil
	case err != nil:
		return malformed("object at offset %d does not inflate: %v", v.object, noEOF(err))
	}
	return nil
}

// deltaHeaderRead reports whether both sizes that start a delta's data, the
// base's and the result's, have been read.
func (v *packValidator) deltaHeaderRead() bool {
	ends := 0
	for _, b := range v.deltaHdr {
		if b&0x80 == 0 {
			ends++
		}
	}
	return ends == 2
}

// readDeltaHeader inflates the delta's data one byte at a time until the
// size of the object it builds is known, and checks that size.
func (v *packValidator) readDeltaHeader() error {
	var b [1]byte
	for !v.deltaHeaderRead() {
		if len(v.deltaHdr) >= 2*maxVarintBytes {
			return malformed("delta at offset %d has overlong sizes", v.object)
		}
		if _, err := io.ReadFull(v.zr, b[:]); err != nil {
			return malformed("delta at offset %d ends before its sizes: %v", v.object, noEOF(err))
		}
		v.inflated++
		if v.inflated > v.declared {
			return malformed("object at offset %d inflates to more than the %d bytes its header declares", v.object, v.declared)
		}
		v.deltaHdr = append(v.deltaHdr, b[0])
	}
	_, rest := deltaSize(v.deltaHdr)
	result, _ := deltaSize(rest)
	if result < 0 || result > v.lim.MaxObjectBytes {
		return kindf(ErrTooLarge, "the repository holds a delta that builds an object of %d bytes, more than the provider's bound of %d bytes per object (--git-max-object-bytes): move large files out of the repository, or ask the provider's operator to raise the bound", uint64(result), v.lim.MaxObjectBytes)
	}
	if chain := v.baseChain + result; chain > v.lim.maxChainBytes() {
		return kindf(ErrTooLarge, "the repository holds a chain of deltas that builds %d bytes of objects to resolve one, more than the provider's bound of %d bytes (%d times --git-max-object-bytes): repack the repository with a smaller --depth, move large files out of it, or ask the provider's operator to raise the bound", chain, v.lim.maxChainBytes(), chainFactor)
	}
	if err := v.count(result); err != nil {
		return err
	}
	v.record(v.baseChain + result)
	return nil
}

// refBaseChain is what holding a REF_DELTA's base costs: a non-delta
// object of this pack, or one the clone holds already (go-git reads it
// whole, at most MaxObjectBytes, since every fetch was bounded). Any other
// base is a delta of this pack, which git never sends once ofs-delta is
// agreed: the most any object of the pack costs, and the base's own size.
func (v *packValidator) refBaseChain(base plumbing.Hash) int64 {
	if size, ok := v.ids[base]; ok {
		return size
	}
	if v.known != nil && v.known(base) {
		return v.lim.MaxObjectBytes
	}
	return v.maxChain + v.lim.MaxObjectBytes
}

// record notes what resolving the current object costs.
func (v *packValidator) record(chain int64) {
	v.offsets = append(v.offsets, v.object)
	v.chains = append(v.chains, chain)
	v.maxChain = max(v.maxChain, chain)
}

// deltaSize decodes one size of a delta's header (little-endian groups of
// seven bits); a size past int64 is -1.
func deltaSize(b []byte) (int64, []byte) {
	var n uint64
	var shift uint
	for i, c := range b {
		if shift < 64 {
			n |= uint64(c&0x7f) << shift
		}
		shift += 7
		if c&0x80 == 0 {
			if shift > 63+7 || n > 1<<62 {
				return -1, b[i+1:]
			}
			return int64(n), b[i+1:]
		}
	}
	return -1, nil
}

func (v *packValidator) count(size int64) error {
	v.total += size
	if v.total > v.lim.MaxInflatedBytes {
		return kindf(ErrTooLarge, "the repository sent a pack that inflates to more than the provider's bound of %d bytes per fetch (--git-max-pack-inflated-bytes): use a repository with less history or smaller files, or ask the provider's operator to raise the bound", v.lim.MaxInflatedBytes)
	}
	return nil
}

func (v *packValidator) tooLarge(size int64) error {
	return kindf(ErrTooLarge, "the repository holds an object of %d bytes, more than the provider's bound of %d bytes per object (--git-max-object-bytes): move large files out of the repository, or ask the provider's operator to raise the bound", size, v.lim.MaxObjectBytes)
}

func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// errStepTooLong stops a step that consumes pack bytes without producing
// any: they would all be held until the step ends.
var errStepTooLong = errors.Errorf("more than %d bytes of compressed data inflate to nothing", maxStepBytes)

// recordingReader records every byte consumed from r since rec was last
// cut, and counts them all. It is an io.ByteReader so that zlib reads
// exactly its stream and no further.
type recordingReader struct {
	r   *bufio.Reader
	rec []byte
	pos int64
}

func (r *recordingReader) ReadByte() (byte, error) {
	if len(r.rec) >= maxStepBytes {
		return 0, errStepTooLong
	}
	b, err := r.r.ReadByte()
	if err != nil {
		return 0, err
	}
	r.rec = append(r.rec, b)
	r.pos++
	return b, nil
}

func (r *recordingReader) Read(p []byte) (int, error) {
	left := maxStepBytes - len(r.rec)
	if left <= 0 {
		return 0, errStepTooLong
	}
	if len(p) > left {
		p = p[:left]
	}
	n, err := r.r.Read(p)
	r.rec = append(r.rec, p[:n]...)
	r.pos += int64(n)
	return n, err
}
