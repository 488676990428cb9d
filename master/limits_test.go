package master

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

func TestClientLimits(t *testing.T) {
	l := newClientLimits(2, 3) // 2/s, bursts of 4, 3 in flight
	now := time.Unix(1000, 0)
	for i := range 3 {
		if err := l.enter("a", now); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	if err := l.enter("a", now); err == nil || !strings.Contains(err.Error(), "3 already in flight") {
		t.Fatalf("a fourth in flight: %v", err)
	}
	if err := l.enter("b", now); err != nil {
		t.Fatalf("another client is not held back: %v", err)
	}
	l.leave("a")
	if err := l.enter("a", now); err != nil { // the fourth of the burst
		t.Fatalf("after one left: %v", err)
	}
	l.leave("a")
	if err := l.enter("a", now); err == nil || !strings.Contains(err.Error(), "more than 2 per second") {
		t.Fatalf("past the burst: %v", err)
	}
	if err := l.enter("a", now.Add(time.Second)); err != nil {
		t.Fatalf("a second later: %v", err)
	}
}

// TestLimitsOverHTTP checks the 429s a client sees, that agents are not
// limited, and that an oversized ACCEPT is refused whole.
func TestLimitsOverHTTP(t *testing.T) {
	tm := startMaster(t, func(c *Config) { c.RateLimit, c.MaxInFlight, c.MaxTasksPerAccept = 1, 1, 2 })
	health := `{"type":"GET_HEALTH"}`
	code, _ := tm.status(t, "/api/v1", health)
	if code != http.StatusOK {
		t.Fatalf("first call: %d", code)
	}
	code, _ = tm.status(t, "/api/v1", health)
	resp := tm.post(t, "/api/v1", health)
	resp.Body.Close()
	if code != http.StatusTooManyRequests && resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("three calls at once at 1/s (bursts of 2): %d and %d, want a 429", code, resp.StatusCode)
	}
	if resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}

	// Agents are not limited: this one subscribes and reports at will.
	a := tm.agent(t, "cpus:4;mem:1024")
	for range 5 {
		a.send("fw", "t", api.TaskRunning, 1) // unknown framework: ignored, but not refused
	}

	time.Sleep(2 * time.Second) // refill the bucket
	f := tm.subscribe(t, api.FrameworkInfo{User: "u", Name: "n"})
	// The framework's stream is its one request in flight: another
	// call of the same (address) client waits for no one and is refused.
	if code, body := tm.status(t, "/api/v1", health); code != http.StatusTooManyRequests || !strings.Contains(body, "in flight") {
		t.Fatalf("a call beside an open stream with MaxInFlight 1: %d %s", code, body)
	}
	_ = f
}

func TestAcceptSize(t *testing.T) {
	tm := startMaster(t, func(c *Config) { c.MaxTasksPerAccept = 2 })
	tm.agent(t, "cpus:4;mem:1024")
	f := tm.subscribe(t, api.FrameworkInfo{User: "u", Name: "n"})
	o := f.offer()
	code, body := f.call(launch(o, commandTask("a", o, 0.1, 8), commandTask("b", o, 0.1, 8), commandTask("c", o, 0.1, 8)))
	if code != http.StatusBadRequest || !strings.Contains(body, "ACCEPT launches 3 tasks; at most 2") {
		t.Fatalf("3 tasks: %d %s", code, body)
	}
	f.mustCall(launch(o, commandTask("a", o, 0.1, 8), commandTask("b", o, 0.1, 8)))
}
