package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/master"
)

// TestServeShutsDownWhileSchedulersResubscribe checks that a master
// daemon stops promptly, as on SIGTERM (one context for the master's Run
// and serve), while schedulers on HTTP/2 without TLS subscribe again the
// moment their stream ends: a stream the stopped master still opened
// would keep its connection active, and serve's Shutdown would wait its
// full three seconds.
func TestServeShutsDownWhileSchedulersResubscribe(t *testing.T) {
	body, err := json.Marshal(api.Call{Type: api.CallSubscribe,
		Subscribe: &api.Subscribe{FrameworkInfo: api.FrameworkInfo{User: "u", Name: "f"}}})
	if err != nil {
		t.Fatal(err)
	}
	for round := range 5 {
		if took := serveAndStop(t, body); took > 2*time.Second {
			t.Fatalf("round %d: serve took %v to return", round, took)
		}
	}
}

// serveAndStop serves a master with schedulers re-subscribing, stops both
// with one context, and returns how long serve took to return.
func serveAndStop(t *testing.T, subscribe []byte) time.Duration {
	t.Helper()
	cfg := master.DefaultConfig()
	cfg.WorkDir = t.TempDir()
	m, err := master.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go m.Run(ctx)
	errc := make(chan error, 1)
	go func() { errc <- serve(ctx, ln, m.Handler()) }()

	tr := &http.Transport{Protocols: new(http.Protocols)}
	tr.Protocols.SetUnencryptedHTTP2(true)
	client := &http.Client{Transport: tr}
	var wg sync.WaitGroup
	defer wg.Wait()
	cctx, stopClients := context.WithCancel(context.Background())
	defer stopClients() // before wg.Wait: the clients stop with cctx
	for range 4 {
		wg.Go(func() {
			for cctx.Err() == nil {
				req, err := http.NewRequestWithContext(cctx, http.MethodPost, "http://"+ln.Addr().String()+"/api/v1/scheduler", bytes.NewReader(subscribe))
				if err != nil {
					t.Error(err)
					return
				}
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				if err != nil || resp.StatusCode != http.StatusOK {
					time.Sleep(time.Millisecond) // refused: back off a little
				}
			}
		})
	}
	time.Sleep(50 * time.Millisecond)
	began := time.Now()
	cancel()
	if err := <-errc; err != nil {
		t.Errorf("serve: %v", err)
	}
	return time.Since(began)
}
