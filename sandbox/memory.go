package sandbox

import (
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/tetratelabs/wazero/experimental"
)

// pageSize is the size of a WebAssembly page.
const pageSize = 65536

// maxPages is the most pages a 32-bit linear memory can have (4 GiB), and
// wazero's default limit.
const maxPages = 65536

// limitPages turns Spec.MemoryBytes into a page count: rounded down, at
// least one page, at most maxPages; 0 means maxPages.
func limitPages(memoryBytes uint64) uint32 {
	if memoryBytes == 0 || memoryBytes/pageSize >= maxPages {
		return maxPages
	}
	return uint32(max(memoryBytes/pageSize, 1))
}

// linearMemory backs one guest's linear memory and enforces its task's
// limit. wazero caps memory per Runtime; an allocator caps it per task and,
// unlike the runtime's cap, sees the grow it refuses, so a task that dies
// for want of memory can be told from one that fails for another reason.
// See RATIONALE.md, "Why one runtime rather than one per memory limit?".
//
// wazero calls Allocate and Reallocate on the goroutine running the guest;
// other goroutines read size and refused.
type linearMemory struct {
	limit   uint64 // bytes, a whole number of pages
	reserve uint64 // the most buf may reserve: limit, or the module's max if lower
	buf     []byte

	size    atomic.Uint64 // len(buf)
	refused atomic.Uint64 // the largest size, in bytes, refused; 0 if none
}

var (
	_ experimental.MemoryAllocator = (*linearMemory)(nil)
	_ experimental.LinearMemory    = (*linearMemory)(nil)
)

func newLinearMemory(pages uint32) *linearMemory {
	return &linearMemory{limit: uint64(pages) * pageSize}
}

// Allocate implements experimental.MemoryAllocator. A module has at most
// one memory, so the allocator is its own LinearMemory.
func (m *linearMemory) Allocate(capacity, maxBytes uint64) experimental.LinearMemory {
	m.reserve = min(m.limit, maxBytes)
	return m
}

// Reallocate implements experimental.LinearMemory: it returns a buffer of
// size bytes holding the old contents, or nil past the limit, which makes
// the guest's memory.grow return -1.
func (m *linearMemory) Reallocate(size uint64) []byte {
	if size > m.limit {
		if size > m.refused.Load() {
			m.refused.Store(size)
		}
		return nil
	}
	if size <= uint64(cap(m.buf)) {
		m.buf = m.buf[:size]
	} else {
		// Grow like append, but never reserve past what may be used.
		c := max(size, min(2*uint64(cap(m.buf)), m.reserve))
		buf := make([]byte, size, c)
		copy(buf, m.buf)
		m.buf = buf
	}
	m.size.Store(size)
	return m.buf
}

// Free implements experimental.LinearMemory.
func (m *linearMemory) Free() { m.buf = nil }

// initialPages returns the initial size, in pages, of the linear memory a
// module defines (not imports), or 0 if it defines none. wasm must have
// been validated: this reads only as far as it needs to.
//
// The memory limit is checked against it before instantiation because
// wazero requires an allocator to provide the initial size.
func initialPages(wasm []byte) (uint32, error) {
	r := wasmReader{b: wasm, i: 8} // after the magic number and version
	for r.i < len(r.b) {
		id := r.byte()
		size := r.uleb()
		end := r.i + int(size)
		if r.err != nil || end > len(r.b) || end < r.i {
			break
		}
		if id != 5 { // not the memory section
			r.i = end
			continue
		}
		if r.uleb() == 0 {
			return 0, nil
		}
		flags := r.byte()
		if flags&4 != 0 { // memory64: wazero does not support it anyway
			return 0, errors.New("read memory section: 64-bit memory is not supported")
		}
		minPages := r.uleb()
		if r.err != nil || minPages > maxPages {
			break
		}
		return uint32(minPages), nil
	}
	if r.err == nil {
		return 0, nil
	}
	return 0, fmt.Errorf("read memory section: %w", r.err)
}

// wasmReader reads the few encodings initialPages needs. The first error
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
