package httpapi

import (
	"context"

	"golang.org/x/sync/semaphore"
)

// MaxBacklog is how many bytes of event records a client's stream reader
// may hold decoded ahead of the handler, beside its count of events. A
// record may be as large as api.MaxRecordSize (16 MiB): a count alone
// would let 64 large OFFERS or LAUNCH events, waiting on a slow handler,
// hold a gigabyte.
const MaxBacklog = 64 << 20

// Backlog bounds the bytes of the events a stream's reader has handed on
// and the handler has not yet handled. The reader holds an event's record
// size before handing it on and waits while the backlog is full, so that
// it stops reading, as it does when the event channel is full; the
// handler frees the size once the event is handled.
type Backlog struct {
	limit int64
	sem   *semaphore.Weighted
}

// NewBacklog returns a Backlog of limit bytes (MaxBacklog for a client).
func NewBacklog(limit int64) *Backlog {
	return &Backlog{limit: limit, sem: semaphore.NewWeighted(limit)}
}

// Hold waits until n more bytes fit in the backlog, or ctx ends. A record
// larger than the whole backlog waits for it to empty.
func (b *Backlog) Hold(ctx context.Context, n int) error {
	return b.sem.Acquire(ctx, min(int64(n), b.limit))
}

// Free returns the n bytes of an event held, once it has been handled.
func (b *Backlog) Free(n int) {
	b.sem.Release(min(int64(n), b.limit))
}
