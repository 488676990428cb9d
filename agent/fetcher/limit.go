package fetcher

import (
	"fmt"
	"io"
	"sync"
)

// Limit bounds the bytes one FetchAll call writes into its sandbox, all
// its URIs together: downloads, copies from the cache, extracted archives
// and decompressed .gz files, each counted as it is written, so that a
// bomb fails before it fills the disk rather than once it has. Config's
// MaxBytes and MaxExtract still apply to each URI; they know nothing of
// the sandbox or its disk, which the caller does (the agent bounds a
// task's fetch by the task's disk resource and by the free space of the
// sandbox's disk).
//
// Why an argument of FetchAll rather than an option or a Config field: a
// Fetcher serves every sandbox, whose bounds differ, and an argument
// every caller must pass cannot be forgotten, which is how fetches came
// to be bounded by nothing but the disk filling up.
//
// The zero Limit (Origin empty, Shared nil) sets no bound beyond
// Config's.
type Limit struct {
	// Bytes is the most the call may write. With Origin set, 0 or less
	// lets nothing be written, as on a disk already short of its
	// reserve.
	Bytes int64
	// Origin says where Bytes comes from, for the error that names it:
	// "the task's disk of 100 MB".
	Origin string
	// Shared, when set, is room the call shares with the other calls
	// under way that are given the same Room: each byte written is
	// taken from it as well as from Bytes.
	Shared *Room
}

// Bounded reports whether l sets a bound of its own: whether Origin is
// set.
func (l Limit) Bounded() bool { return l.Origin != "" }

// Room is disk room that FetchAll calls under way at the same time draw
// on together, each byte taken as it is written and given back when a
// temporary file is removed, so that fetches that each fit the room
// cannot together write more than it holds. Why not a Limit each: a
// Limit is fixed when its call starts, and two calls starting together
// would each count on all of the room (the agent's sandboxes share one
// disk). Its owner measures the room and sets it (Set) before starting a
// call; the zero Room bounds nothing until then. A Room is safe for
// concurrent use.
type Room struct {
	mu      sync.Mutex
	bounded bool
	left    int64
	origin  string
}

// Set makes bytes the room left from now on, for the calls under way and
// those to come, origin saying where it comes from for the error that
// names it. What calls wrote before Set is the owner's to count in bytes
// (a file system's free space counts it); what they give back after
// returns to the room, as it returns to the disk.
func (r *Room) Set(bytes int64, origin string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.bounded, r.left, r.origin = true, bytes, origin
}

// take counts n more bytes, or fails without counting them if the room
// would be exceeded.
func (r *Room) take(n int64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.bounded {
		return nil
	}
	if n > r.left {
		return fmt.Errorf("%w: %d bytes left (%s)", errOverLimit, max(r.left, 0), r.origin)
	}
	r.left -= n
	return nil
}

// release gives back n bytes taken.
func (r *Room) release(n int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.bounded {
		r.left += n
	}
}

// budget counts what one FetchAll call writes into its sandbox against
// its Limit, and its Shared room. The call fetches its URIs one after
// the other, so a budget is used by one goroutine at a time and needs no
// lock of its own.
type budget struct {
	limit Limit
	used  int64
}

// take counts n more bytes, or fails without counting them if the limit,
// or the shared room, would be exceeded.
func (b *budget) take(n int64) error {
	if b.limit.Bounded() && n > b.limit.Bytes-b.used {
		return fmt.Errorf("%w of %d bytes (%s)", errOverLimit, max(b.limit.Bytes, 0), b.limit.Origin)
	}
	if b.limit.Shared != nil {
		if err := b.limit.Shared.take(n); err != nil {
			return err
		}
	}
	b.used += n
	return nil
}

// release gives back n bytes counted for a temporary file since removed,
// such as a downloaded archive once extracted, or for a fetch that
// failed and left nothing.
func (b *budget) release(n int64) {
	b.used -= n
	if b.limit.Shared != nil {
		b.limit.Shared.release(n)
	}
}

// budgetWriter writes to w what the budget allows, refusing a write that
// would exceed it whole, so that the limit is never passed even briefly.
type budgetWriter struct {
	b *budget
	w io.Writer
	n int64 // bytes written
}

func (bw *budgetWriter) Write(p []byte) (int, error) {
	if err := bw.b.take(int64(len(p))); err != nil {
		return 0, err
	}
	n, err := bw.w.Write(p)
	bw.n += int64(n)
	bw.b.release(int64(len(p) - n))
	return n, err
}
