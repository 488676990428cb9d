package sandbox

import "errors"

// The few pieces of the WebAssembly binary format that the sandbox's
// rewriters (exportMemory, boundStack) need, for modules that
// module.Validate has already accepted.

// Section ids, and their order in a module.
const (
	customSection   = 0
	typeSection     = 1
	functionSection = 3
	globalSection   = 6
	exportSection   = 7
	codeSection     = 10
)

var sectionRank = map[byte]int{1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 13: 6, 6: 7, 7: 8, 8: 9, 9: 10, 12: 11, 10: 12, 11: 13}

func appendSection(out []byte, id byte, payload []byte) []byte {
	out = append(out, id)
	out = appendULEB(out, uint64(len(payload)))
	return append(out, payload...)
}

func appendULEB(b []byte, v uint64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v == 0 {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func appendSLEB(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

// wasmReader reads the few encodings the rewriters need. The first error
// sticks, and later reads return zero.
type wasmReader struct {
	b   []byte
	i   int
	err error
}

var errTruncated = errors.New("module is truncated")

func (r *wasmReader) byte() byte {
	if r.err != nil || r.i >= len(r.b) {
		r.err = errTruncated
		return 0
	}
	c := r.b[r.i]
	r.i++
	return c
}

// uleb reads an unsigned LEB128 number of at most 32 bits.
func (r *wasmReader) uleb() uint64 {
	var v uint64
	for shift := 0; shift < 35; shift += 7 {
		c := r.byte()
		v |= uint64(c&0x7f) << shift
		if c&0x80 == 0 {
			return v
		}
	}
	if r.err == nil {
		r.err = errors.New("number is too long")
	}
	return 0
}

// count reads a vector's length, refusing one longer than the bytes left,
// so that what a caller allocates for it is bounded by the input.
func (r *wasmReader) count() int {
	n := r.uleb()
	if r.err == nil && n > uint64(len(r.b)-r.i) {
		r.err = errTruncated
	}
	if r.err != nil {
		return 0
	}
	return int(n)
}

// rawSection is one section of a binary, as it is there.
type rawSection struct {
	id      byte
	payload []byte
}

// splitSections returns the sections of a binary whose 8-byte header has
// been checked.
func splitSections(wasm []byte) ([]rawSection, error) {
	if len(wasm) < 8 {
		return nil, errTruncated
	}
	var secs []rawSection
	r := wasmReader{b: wasm, i: 8}
	for r.i < len(r.b) && r.err == nil {
		id := r.byte()
		size := r.uleb()
		if r.err == nil && size > uint64(len(r.b)-r.i) {
			r.err = errTruncated
		}
		if r.err != nil {
			break
		}
		secs = append(secs, rawSection{id: id, payload: r.b[r.i : r.i+int(size)]})
		r.i += int(size)
	}
	return secs, r.err
}
