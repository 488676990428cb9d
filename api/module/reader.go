package module

import (
	"fmt"
	"unicode/utf8"
)

// reader decodes the binary format from b. The first error sticks: later
// reads return zero values without advancing, so a caller may read a
// whole structure and check err once, but must check it in every loop.
type reader struct {
	b    []byte
	i    int // next byte in b
	base int // offset of b[0] in the module, for messages
	err  error
}

// sub returns a reader of the next n bytes and skips them.
func (r *reader) sub(n int) *reader {
	if r.err != nil {
		return &reader{err: r.err}
	}
	if n > len(r.b)-r.i {
		r.fail("%d bytes declared, %d left", n, len(r.b)-r.i)
		return &reader{err: r.err}
	}
	s := &reader{b: r.b[r.i : r.i+n], base: r.base + r.i}
	r.i += n
	return s
}

func (r *reader) left() int  { return len(r.b) - r.i }
func (r *reader) done() bool { return r.err != nil || r.i >= len(r.b) }

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = &FormatError{Offset: r.base + r.i, Msg: fmt.Sprintf(format, args...)}
	}
}

func (r *reader) byte() byte {
	if r.err != nil {
		return 0
	}
	if r.i >= len(r.b) {
		r.fail("unexpected end")
		return 0
	}
	c := r.b[r.i]
	r.i++
	return c
}

// skip skips n bytes.
func (r *reader) skip(n int) {
	if r.err == nil && n > r.left() {
		r.fail("unexpected end")
		return
	}
	if r.err == nil {
		r.i += n
	}
}

// uleb reads an unsigned LEB128 number of at most bits bits.
func (r *reader) uleb(bits uint) uint64 {
	var v uint64
	for shift := uint(0); ; shift += 7 {
		c := r.byte()
		if r.err != nil {
			return 0
		}
		if shift+7 > bits && c>>(bits-shift) != 0 {
			// The last byte may carry only the bits that are left, and
			// no continuation.
			r.fail("integer is too long or too large")
			return 0
		}
		v |= uint64(c&0x7f) << shift
		if c&0x80 == 0 {
			return v
		}
	}
}

func (r *reader) u32() uint32 { return uint32(r.uleb(32)) }
func (r *reader) u64() uint64 { return r.uleb(64) }

// sleb reads a signed LEB128 number of at most bits bits.
func (r *reader) sleb(bits uint) int64 {
	var v int64
	var shift uint
	for {
		c := r.byte()
		if r.err != nil {
			return 0
		}
		if shift+7 >= bits {
			// The last byte: its unused bits must all copy the sign.
			rest := int8(c<<1) >> (bits - shift)
			if c&0x80 != 0 || (rest != 0 && rest != -1) {
				r.fail("integer is too long or too large")
				return 0
			}
		}
		v |= int64(c&0x7f) << shift
		shift += 7
		if c&0x80 == 0 {
			if shift < 64 && c&0x40 != 0 {
				v |= -1 << shift
			}
			return v
		}
	}
}

// count reads a vector's length, refusing one that could not fit in the
// bytes left if each element took at least min bytes. Every allocation
// sized by a count is thereby bounded by the input's size.
func (r *reader) count(min int, what string) int {
	n := r.u32()
	if r.err == nil && uint64(n)*uint64(min) > uint64(r.left()) {
		r.fail("%d %s declared, more than the %d bytes left can hold", n, what, r.left())
		return 0
	}
	return int(n)
}

// name reads a UTF-8 name.
func (r *reader) name() string {
	n := r.count(1, "bytes of name")
	start := r.i
	r.skip(n)
	if r.err != nil {
		return ""
	}
	s := r.b[start:r.i]
	if !utf8.Valid(s) {
		r.i = start
		r.fail("name is not valid UTF-8")
		return ""
	}
	return string(s)
}
