package executor

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"testing"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/sdk/internal/httpapi"
	"github.com/mezzo-cluster/mezzo/sdk/internal/httpapi/httpapitest"
)

// TestReadStopsAtBacklog checks that the stream reader stops reading once
// the events waiting for the handler hold the backlog's bytes, however
// few they are (the channel holds 64): 64 LAUNCH events of 16 MiB waiting
// on a slow handler held a gigabyte. Handling one lets one more in.
func TestReadStopsAtBacklog(t *testing.T) {
	rec, err := json.Marshal(api.ExecutorEvent{Type: api.ExecutorEventMessage, Message: &api.ExecutorMessage{Data: make([]byte, 700)}})
	if err != nil {
		t.Fatal(err)
	}
	const fit = 5
	backlog := httpapi.NewBacklog(fit * int64(len(rec)))
	events := make(chan readEvent, eventBuffer)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	pr, pw := io.Pipe()
	defer pw.Close()
	read := make(chan error, 1)
	go func() { read <- (&Client{led: newLedger()}).read(ctx, pr, backlog, events) }()
	httpapitest.WriteRecords(pw, rec, 3*fit)
	httpapitest.WaitBacklog(t, events, fit)
	r := <-events
	backlog.Free(r.size)
	httpapitest.WaitBacklog(t, events, fit)
	cancel()
	if err := <-read; !errors.Is(err, context.Canceled) {
		t.Errorf("read = %v, want it to end with its context", err)
	}
}
