package sandbox

import (
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

// linearMemory backs one wazero guest's linear memory and enforces its
// task's limit. wazero caps memory per Runtime; an allocator caps it per
// task and, unlike the runtime's cap, sees the grow it refuses, so a task
// that dies for want of memory can be told from one that fails for
// another reason. See RATIONALE.md, "Why one runtime rather than one per
// memory limit?".
//
// wazero calls Allocate and Reallocate on the goroutine running the guest;
// other goroutines read size and refused.
type linearMemory struct {
	limit   uint64 // bytes, a whole number of pages
	reserve uint64 // the most buf may reserve: limit, or the module's max if lower
	buf     []byte

	size    *atomic.Uint64 // len(buf): the task's
	refused atomic.Uint64  // the largest size, in bytes, refused; 0 if none
}

var (
	_ experimental.MemoryAllocator = (*linearMemory)(nil)
	_ experimental.LinearMemory    = (*linearMemory)(nil)
)

// newLinearMemory returns an allocator that allows limit bytes and keeps
// the memory's size in size.
func newLinearMemory(limit uint64, size *atomic.Uint64) *linearMemory {
	return &linearMemory{limit: limit, size: size}
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

// nearLimit says whether a guest whose memory ended at size bytes was
// probably refused a grow by its limit of limit bytes. wasmtime's store
// limiter makes a grow past the limit fail without telling the host (its
// C API has no callback), so this is inferred: the memory ended within a
// sixteenth of the limit, at least a page and at most 16 MiB below it. A
// Go guest that runs out of memory stops a few pages short of its limit;
// a guest refused one large grow far below its limit is not recognized.
// See RATIONALE.md, "How is a memory limit told from a crash?".
func nearLimit(size, limit uint64) bool {
	room := min(max(limit/16, pageSize), 16<<20)
	return size+room > limit
}
