package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/sdk/internal/httpapi"
	"github.com/mezzo-cluster/mezzo/sdk/internal/httpapi/httpapitest"
)

func TestLeaderBase(t *testing.T) {
	tests := []struct {
		name, base, loc, want string
		tls                   bool
	}{
		{name: "protocol-relative", base: "http://m1:5050", loc: "//m2:5050/api/v1/scheduler", want: "http://m2:5050"},
		{name: "keeps the scheme", base: "https://m1:5050", loc: "//m2:5050/api/v1/scheduler", want: "https://m2:5050"},
		{name: "absolute", base: "http://m1:5050", loc: "http://m2:5051/api/v1/scheduler", want: "http://m2:5051"},
		{name: "prefix", base: "http://m1:5050/master", loc: "//m2:5050/master/api/v1/scheduler", want: "http://m2:5050/master"},
		{name: "host only, as /redirect answers", base: "http://m1:5050", loc: "//m2:5050", want: "http://m2:5050"},
		{name: "bare host and port", base: "http://m1:5050", loc: "m2:5050", want: "http://m2:5050"},
		{name: "empty", base: "http://m1:5050", loc: ""},
		{name: "path only", base: "http://m1:5050", loc: "/api/v1/scheduler", want: "http://m1:5050"},
		{name: "https to https", base: "https://m1:5050", loc: "https://m2:5050/api/v1/scheduler", want: "https://m2:5050"},
		{name: "http to https", base: "http://m1:5050", loc: "https://m2:5050/api/v1/scheduler", want: "https://m2:5050"},
		{name: "TLS keeps the scheme", base: "https://m1:5050", loc: "m2:5050", tls: true, want: "https://m2:5050"},
		{name: "https to http", base: "https://m1:5050", loc: "http://m2:5050/api/v1/scheduler"},
		{name: "https to http, same host", base: "https://m1:5050", loc: "http://m1:5050/api/v1/scheduler"},
		{name: "TLS configured, to http", base: "http://m1:5050", loc: "http://m2:5050/api/v1/scheduler", tls: true},
		{name: "another scheme", base: "http://m1:5050", loc: "ftp://m2:5050/api/v1/scheduler"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := leaderBase(tt.base, tt.loc, tt.tls)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("leaderBase(%q) = %q, want an error", tt.loc, got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("leaderBase(%q) = %q, %v; want %q", tt.loc, got, err, tt.want)
			}
		})
	}
}

// FuzzLeaderBase feeds Location headers, which come from the network:
// leaderBase must not panic, and what it returns must be a usable base URL.
func FuzzLeaderBase(f *testing.F) {
	for _, s := range []string{"//m2:5050/api/v1/scheduler", "m2:5050", "http://[::1]:5050", "/x", "//", "::", "%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, loc string) {
		base, err := leaderBase("http://m1:5050", loc, false)
		if err != nil {
			return
		}
		u, err := url.Parse(base + "/api/v1/scheduler")
		if err != nil || u.Host == "" {
			t.Fatalf("leaderBase(%q) = %q, not a base URL: %v", loc, base, err)
		}
		if base, err := leaderBase("https://m1:5050", loc, false); err == nil && !strings.HasPrefix(base, "https://") {
			t.Fatalf("leaderBase(%q) from https = %q, not https", loc, base)
		}
	})
}

// TestReadStopsAtBacklog checks that the stream reader stops reading once
// the events waiting for the handler hold the backlog's bytes, however
// few they are (the channel holds 64): 64 OFFERS events of 16 MiB waiting
// on a slow handler held a gigabyte. Handling one lets one more in.
func TestReadStopsAtBacklog(t *testing.T) {
	rec, err := json.Marshal(api.Event{Type: api.EventMessage, Message: &api.FrameworkMessage{Data: make([]byte, 700)}})
	if err != nil {
		t.Fatal(err)
	}
	const fit = 5
	backlog := httpapi.NewBacklog(fit * int64(len(rec)))
	events := make(chan readEvent, eventBuffer)
	wd := httpapi.NewWatchdog(time.Hour, func() {})
	defer wd.Stop()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	pr, pw := io.Pipe()
	defer pw.Close()
	read := make(chan error, 1)
	go func() { read <- (&Client{}).read(ctx, pr, wd, backlog, events) }()
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
