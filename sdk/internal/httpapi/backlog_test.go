package httpapi

import (
	"context"
	"testing"
	"time"
)

// TestBacklogTakesARecordLargerThanItself checks that a record larger
// than the whole backlog is still handed on, once the backlog is empty,
// and fills it until it is handled; a reader would otherwise wait for
// ever on a record the agent or master may send (up to 16 MiB).
func TestBacklogTakesARecordLargerThanItself(t *testing.T) {
	b := NewBacklog(100)
	if err := b.Hold(t.Context(), 1000); err != nil {
		t.Fatalf("an empty backlog refused a large record: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if err := b.Hold(ctx, 1); err == nil {
		t.Fatal("the backlog took a record while a large one filled it")
	}
	b.Free(1000)
	if err := b.Hold(t.Context(), 100); err != nil {
		t.Fatalf("the backlog, emptied, refused to fill: %v", err)
	}
}
