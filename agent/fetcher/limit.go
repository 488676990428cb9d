package fetcher

import (
	"fmt"
	"io"
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
// The zero Limit (Origin empty) sets no bound beyond Config's.
type Limit struct {
	// Bytes is the most the call may write. With Origin set, 0 or less
	// lets nothing be written, as on a disk already short of its
	// reserve.
	Bytes int64
	// Origin says where Bytes comes from, for the error that names it:
	// "the task's disk of 100 MB".
	Origin string
}

// Bounded reports whether l sets a bound: whether Origin is set.
func (l Limit) Bounded() bool { return l.Origin != "" }

// budget counts what one FetchAll call writes into its sandbox against
// its Limit. The call fetches its URIs one after the other, so a budget
// is used by one goroutine at a time and needs no lock.
type budget struct {
	limit Limit
	used  int64
}

// take counts n more bytes, or fails without counting them if the limit
// would be exceeded.
func (b *budget) take(n int64) error {
	if !b.limit.Bounded() {
		return nil
	}
	if n > b.limit.Bytes-b.used {
		return fmt.Errorf("%w of %d bytes (%s)", errOverLimit, max(b.limit.Bytes, 0), b.limit.Origin)
	}
	b.used += n
	return nil
}

// release gives back n bytes counted for a temporary file since removed,
// such as a downloaded archive once extracted.
func (b *budget) release(n int64) {
	if b.limit.Bounded() {
		b.used -= n
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
