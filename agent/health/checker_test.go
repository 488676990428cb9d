package health

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mezzo-cluster/mezzo/api"
)

func httpCheck(port api.Uint64, statuses ...api.Uint64) *api.HealthCheck {
	return &api.HealthCheck{Type: "HTTP", HTTP: &api.HTTPCheckInfo{Port: port, Path: "/health", Statuses: statuses}}
}

func TestHTTPHealth(t *testing.T) {
	tests := []struct {
		name     string
		status   int          // what the server answers; 0: never
		statuses []api.Uint64 // HTTPCheckInfo.statuses
		healthy  bool
		message  string
	}{
		{name: "200 is healthy", status: 200, healthy: true, message: "returned 200"},
		{name: "399 is healthy", status: 399, healthy: true, message: "returned 399"},
		{name: "500 is unhealthy", status: 500, message: "returned 500"},
		{name: "404 is unhealthy", status: 404, message: "returned 404"},
		{name: "listed 503 is healthy", status: 503, statuses: []api.Uint64{200, 503}, healthy: true},
		{name: "unlisted 204 is unhealthy", status: 204, statuses: []api.Uint64{200}},
		{name: "slow answer times out", status: 0, message: "timed out"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, tt.status)
			hc := fast(httpCheck(srv.port(t), tt.statuses...), 1000)
			hc.TimeoutSeconds = sec(0.2)
			rec := startHealth(t, hc, Target{})
			r := rec.next(t)
			if r.Healthy != tt.healthy || r.Kill || r.Check != nil {
				t.Fatalf("report = %+v, want healthy %v, no kill, no check status", r, tt.healthy)
			}
			if !strings.Contains(r.Message, tt.message) {
				t.Errorf("message %q does not mention %q", r.Message, tt.message)
			}
			if r.Reason() != api.ReasonTaskHealthCheckStatusUpdated {
				t.Errorf("reason = %s", r.Reason())
			}
		})
	}
}

func TestHTTPHealthKillsAfterConsecutiveFailures(t *testing.T) {
	srv := newServer(t, 500)
	rec := startHealth(t, fast(httpCheck(srv.port(t)), 3), Target{})
	if r := rec.next(t); r.Healthy || r.Kill || r.Consecutive != 1 {
		t.Fatalf("first report = %+v, want unhealthy after 1 failure, no kill", r)
	}
	if r := rec.next(t); r.Healthy || !r.Kill || r.Consecutive != 3 {
		t.Fatalf("second report = %+v, want kill after 3 failures", r)
	}
	// The checker goes on checking but asks for the kill only once.
	hits := srv.hits.Load()
	eventually(t, "more checks", func() bool { return srv.hits.Load() >= hits+5 })
	if p := rec.pending(); len(p) != 0 {
		t.Fatalf("reports after the kill: %+v", p)
	}
}

func TestTCPHealth(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	tests := []struct {
		name    string
		port    api.Uint64
		healthy bool
	}{
		{name: "listening port", port: portOf(t, l.Addr()), healthy: true},
		{name: "closed port", port: closedPort(t)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hc := fast(&api.HealthCheck{Type: "TCP", TCP: &api.TCPCheckInfo{Port: tt.port}}, 1000)
			r := startHealth(t, hc, Target{Host: "127.0.0.1"}).next(t)
			if r.Healthy != tt.healthy || r.Kill {
				t.Fatalf("report = %+v, want healthy %v", r, tt.healthy)
			}
		})
	}
}

func TestGracePeriodIgnoresFailuresUntilFirstSuccess(t *testing.T) {
	srv := newServer(t, 500)
	hc := fast(httpCheck(srv.port(t)), 1)
	hc.GracePeriodSeconds = sec(3600)
	rec := startHealth(t, hc, Target{})

	// Failures within the grace period are not even counted: with one
	// failure allowed, any counted failure would be a kill.
	eventually(t, "failing checks", func() bool { return srv.hits.Load() >= 5 })
	if p := rec.pending(); len(p) != 0 {
		t.Fatalf("reports during the grace period: %+v", p)
	}
	srv.status.Store(200)
	if r := rec.next(t); !r.Healthy {
		t.Fatalf("report = %+v, want healthy", r)
	}
	// After the first success the grace period is over, time left or not.
	srv.status.Store(500)
	if r := rec.next(t); r.Healthy || !r.Kill || r.Consecutive != 1 {
		t.Fatalf("report = %+v, want a kill after the first failure", r)
	}
}

func TestGracePeriodEnds(t *testing.T) {
	srv := newServer(t, 500)
	hc := fast(httpCheck(srv.port(t)), 1)
	hc.GracePeriodSeconds = sec(0.1)
	rec := startHealth(t, hc, Target{})
	if r := rec.next(t); r.Healthy || !r.Kill || r.Consecutive != 1 {
		t.Fatalf("report = %+v, want a kill once the grace period is over", r)
	}
}

func TestTransitionsReportedOnce(t *testing.T) {
	srv := newServer(t, 200)
	rec := startHealth(t, fast(httpCheck(srv.port(t)), 1000), Target{})
	steady := func(what string) {
		t.Helper()
		hits := srv.hits.Load()
		eventually(t, what, func() bool { return srv.hits.Load() >= hits+5 })
	}
	want := []struct {
		status  int
		healthy bool
	}{{200, true}, {500, false}, {200, true}, {503, false}}
	for _, w := range want {
		srv.status.Store(int64(w.status))
		r := rec.next(t)
		if r.Healthy != w.healthy || r.Kill {
			t.Fatalf("after status %d: report = %+v, want healthy %v", w.status, r, w.healthy)
		}
		if !w.healthy && r.Consecutive != 1 {
			t.Errorf("after status %d: consecutive = %d, want 1", w.status, r.Consecutive)
		}
		steady("checks at the same health")
		if p := rec.pending(); len(p) != 0 {
			t.Fatalf("after status %d: repeated reports %+v", w.status, p)
		}
	}
}

func TestStopEndsReports(t *testing.T) {
	srv := newServer(t, 200)
	rec := newRecorder()
	c, err := Start(t.Context(), fast(httpCheck(srv.port(t)), 3), Target{}, Standing{}, rec.report)
	if err != nil {
		t.Fatal(err)
	}
	rec.next(t)
	c.Stop()
	c.Stop() // idempotent
	srv.status.Store(500)
	if p := rec.pending(); len(p) != 0 {
		t.Fatalf("reports after Stop: %+v", p)
	}
}

func TestGeneralHTTPCheck(t *testing.T) {
	srv := newServer(t, 503)
	ci := fastCheck(&api.CheckInfo{Type: "HTTP", HTTP: &api.CheckHTTP{Port: srv.port(t), Path: "/"}})
	rec := startGeneral(t, ci, Target{})
	r := rec.next(t)
	if r.Kill || r.Healthy || r.Check == nil || r.Check.Type != "HTTP" || r.Check.HTTP == nil ||
		r.Check.HTTP.StatusCode == nil || *r.Check.HTTP.StatusCode != 503 {
		t.Fatalf("report = %+v, want HTTP status 503", r)
	}
	if r.Reason() != api.ReasonTaskCheckStatusUpdated {
		t.Errorf("reason = %s", r.Reason())
	}
	// Many failures: the same status is not reported again, and never kills.
	eventually(t, "more checks", func() bool { return srv.hits.Load() >= 10 })
	if p := rec.pending(); len(p) != 0 {
		t.Fatalf("repeated reports %+v", p)
	}
	srv.status.Store(200)
	if r := rec.next(t); r.Kill || !r.Healthy || *r.Check.HTTP.StatusCode != 200 {
		t.Fatalf("report = %+v, want HTTP status 200", r)
	}
}

func TestGeneralTCPCheck(t *testing.T) {
	ci := fastCheck(&api.CheckInfo{Type: "TCP", TCP: &api.CheckTCP{Port: closedPort(t)}})
	r := startGeneral(t, ci, Target{}).next(t)
	if r.Kill || r.Check == nil || r.Check.TCP == nil || r.Check.TCP.Succeeded == nil || *r.Check.TCP.Succeeded {
		t.Fatalf("report = %+v, want TCP succeeded false", r)
	}
}

func TestGeneralHTTPCheckTimeout(t *testing.T) {
	srv := newServer(t, 0)
	ci := fastCheck(&api.CheckInfo{Type: "HTTP", HTTP: &api.CheckHTTP{Port: srv.port(t)}})
	ci.TimeoutSeconds = sec(0.1)
	r := startGeneral(t, ci, Target{}).next(t)
	if r.Kill || r.Check == nil || r.Check.HTTP == nil || r.Check.HTTP.StatusCode != nil {
		t.Fatalf("report = %+v, want an HTTP check status without a code", r)
	}
}

func TestStartRefusesInvalidChecks(t *testing.T) {
	ctx := t.Context()
	noop := func(Result) {}
	if _, err := Start(ctx, &api.HealthCheck{Type: "HTTP", HTTP: &api.HTTPCheckInfo{}}, Target{}, Standing{}, noop); err == nil ||
		!strings.Contains(err.Error(), "'http.port' must be in 1..65535") {
		t.Errorf("Start(HTTP without port) = %v", err)
	}
	if _, err := StartCheck(ctx, &api.CheckInfo{Type: "TCP"}, Target{}, nil, noop); err == nil ||
		!strings.Contains(err.Error(), "'tcp' must be set when 'type' is TCP") {
		t.Errorf("StartCheck(TCP without tcp) = %v", err)
	}
	good := &api.HealthCheck{Type: "TCP", TCP: &api.TCPCheckInfo{Port: 1}}
	if _, err := Start(ctx, good, Target{}, Standing{}, nil); err == nil {
		t.Error("Start with a nil report succeeded")
	}
}

// TestHTTPHealthRedirects follows a redirect within the checked host and
// port, and takes a redirect anywhere else as the answer: the agent,
// which runs the check from its own network, must not be sent by the
// task to other hosts' APIs.
func TestHTTPHealthRedirects(t *testing.T) {
	var elsewhereHits atomic.Int32
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhereHits.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer elsewhere.Close()
	task := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/health":
			http.Redirect(w, r, "/moved", http.StatusFound)
		case "/moved":
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			http.Redirect(w, r, elsewhere.URL+"/admin", http.StatusFound)
		}
	}))
	defer task.Close()
	_, port, err := net.SplitHostPort(task.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.ParseUint(port, 10, 16)
	tests := []struct {
		path    string
		healthy bool
		message string
	}{
		{"/health", false, "returned 503"},   // followed to /moved
		{"/elsewhere", true, "returned 302"}, // not followed
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			hc := fast(&api.HealthCheck{Type: "HTTP", HTTP: &api.HTTPCheckInfo{Port: api.Uint64(n), Path: tt.path}}, 1000)
			r := startHealth(t, hc, Target{}).next(t)
			if r.Healthy != tt.healthy || !strings.Contains(r.Message, tt.message) {
				t.Errorf("report %+v, want healthy %v, %q", r, tt.healthy, tt.message)
			}
		})
	}
	if n := elsewhereHits.Load(); n != 0 {
		t.Errorf("the check followed a redirect to another host %d times", n)
	}
}
