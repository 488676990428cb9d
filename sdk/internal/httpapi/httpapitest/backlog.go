package httpapitest

import (
	"fmt"
	"io"
	"testing"
	"time"
)

// WriteRecords writes n RecordIO records holding rec to w, stopping at
// the first error (the reader's end closed the pipe), on a goroutine of
// its own.
func WriteRecords(w io.Writer, rec []byte, n int) {
	go func() {
		for range n {
			if _, err := fmt.Fprintf(w, "%d\n%s", len(rec), rec); err != nil {
				return
			}
		}
	}()
}

// WaitBacklog waits until want events wait in events, then gives the
// reader that fills it time to hand on more, which it must not: its
// backlog (httpapi.Backlog) holds want of them and nobody handles them.
func WaitBacklog[T any](t testing.TB, events chan T, want int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for len(events) < want {
		if time.Now().After(deadline) {
			t.Fatalf("%d events wait for the handler, want %d", len(events), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(events); n != want {
		t.Fatalf("%d events wait for the handler, more than the %d the backlog holds", n, want)
	}
}
