package health

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

// wait is how long a test waits for something that should happen within
// milliseconds; generous for loaded CI machines.
const wait = 20 * time.Second

func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if err := checkNoLeaks(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

// checkNoLeaks fails unless every checker goroutine has ended.
func checkNoLeaks() error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		buf := make([]byte, 1<<20)
		stacks := string(buf[:runtime.Stack(buf, true)])
		var leaked []string
		for _, g := range strings.Split(stacks, "\n\n") {
			if strings.Contains(g, "agent/health.(*Checker).run") {
				leaked = append(leaked, g)
			}
		}
		if len(leaked) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("leaked checker goroutines:\n%s", strings.Join(leaked, "\n\n"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// recorder collects a checker's reports.
type recorder struct {
	ch chan Result
}

func newRecorder() *recorder { return &recorder{ch: make(chan Result, 1000)} }

func (r *recorder) report(res Result) { r.ch <- res }

// next returns the next report, failing the test if none comes.
func (r *recorder) next(t *testing.T) Result {
	t.Helper()
	select {
	case res := <-r.ch:
		return res
	case <-time.After(wait):
		t.Fatal("no report")
		return Result{}
	}
}

// pending returns the reports made so far and not yet read.
func (r *recorder) pending() []Result {
	var out []Result
	for {
		select {
		case res := <-r.ch:
			out = append(out, res)
		default:
			return out
		}
	}
}

// eventually polls cond until it holds, failing the test after wait.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func sec(v float64) *api.Float64 { return api.Ptr(api.Float64(v)) }

// fast sets a health check's timing for tests: check at once, every 20 ms,
// a generous timeout, no grace period, n failures before a kill.
func fast(hc *api.HealthCheck, n uint64) *api.HealthCheck {
	hc.DelaySeconds, hc.IntervalSeconds = sec(0), sec(0.02)
	hc.TimeoutSeconds, hc.GracePeriodSeconds = sec(5), sec(0)
	hc.ConsecutiveFailures = api.Ptr(api.Uint64(n))
	return hc
}

// fastCheck is fast for a general check.
func fastCheck(c *api.CheckInfo) *api.CheckInfo {
	c.DelaySeconds, c.IntervalSeconds, c.TimeoutSeconds = sec(0), sec(0.02), sec(5)
	return c
}

// startHealth starts a health check that the test stops at its end.
func startHealth(t *testing.T, hc *api.HealthCheck, tg Target) *recorder {
	t.Helper()
	rec := newRecorder()
	c, err := Start(t.Context(), hc, tg, Standing{}, rec.report)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(c.Stop)
	return rec
}

// startGeneral is startHealth for a general check.
func startGeneral(t *testing.T, ci *api.CheckInfo, tg Target) *recorder {
	t.Helper()
	rec := newRecorder()
	c, err := StartCheck(t.Context(), ci, tg, nil, rec.report)
	if err != nil {
		t.Fatalf("StartCheck: %v", err)
	}
	t.Cleanup(c.Stop)
	return rec
}

// server is an HTTP server whose answer the test sets, counting requests.
type server struct {
	*httptest.Server
	status atomic.Int64
	hits   atomic.Int64
}

// newServer starts a server answering status until told otherwise; a
// status of 0 means never answering (until the client gives up).
func newServer(t *testing.T, status int) *server {
	t.Helper()
	s := &server{}
	s.status.Store(int64(status))
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		code := int(s.status.Load())
		if code == 0 {
			<-r.Context().Done()
			return
		}
		w.WriteHeader(code)
	}))
	t.Cleanup(s.Close)
	return s
}

// port is the server's port.
func (s *server) port(t *testing.T) api.Uint64 {
	t.Helper()
	return portOf(t, s.Listener.Addr())
}

func portOf(t *testing.T, a net.Addr) api.Uint64 {
	t.Helper()
	return api.Uint64(a.(*net.TCPAddr).Port)
}

// closedPort returns a local port on which nothing listens.
func closedPort(t *testing.T) api.Uint64 {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := portOf(t, l.Addr())
	l.Close()
	return p
}
