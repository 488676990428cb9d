//go:build linux

package main

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/e2e/simagent"
	"github.com/mezzo-cluster/mezzo/master"
	"github.com/mezzo-cluster/mezzo/master/registry"
)

func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		var out []time.Duration
		for _, x := range v {
			out = append(out, time.Duration(x)*time.Millisecond)
		}
		return out
	}
	tests := []struct {
		name string
		in   []time.Duration
		p    float64
		want time.Duration
	}{
		{name: "empty", in: nil, p: 50, want: 0},
		{name: "one", in: ms(7), p: 99, want: 7 * time.Millisecond},
		{name: "median of unsorted", in: ms(5, 1, 3, 2, 4), p: 50, want: 3 * time.Millisecond},
		{name: "p99 of 100 is the 99th", in: ms(slices.Collect(func(yield func(int) bool) {
			for i := 1; i <= 100; i++ {
				if !yield(i) {
					return
				}
			}
		})...), p: 99, want: 99 * time.Millisecond},
		{name: "p100 is the max", in: ms(9, 1, 5), p: 100, want: 9 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.in, tt.p); got != tt.want {
				t.Errorf("percentile(%v, %v) = %v, want %v", tt.in, tt.p, got, tt.want)
			}
		})
	}
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		check   func(options) bool
		wantErr string
	}{
		{name: "defaults", args: nil, check: func(o options) bool {
			return len(o.items) == 9 && slices.Equal(o.allocSizes, []int{1000, 10000, 50000}) && o.c1mTasks == 1000000 && o.c1mAgents == 5000
		}},
		{name: "quick", args: []string{"-quick"}, check: func(o options) bool {
			return slices.Equal(o.allocSizes, []int{1000}) && o.c1mTasks == 50000 && o.c1mAgents == 250
		}},
		{name: "some items", args: []string{"-items", "a, d"}, check: func(o options) bool { return slices.Equal(o.items, []string{"a", "d"}) }},
		{name: "slow clients", args: []string{"-items", "s"}, check: func(o options) bool { return slices.Equal(o.items, []string{"s"}) }},
		{name: "unknown item", args: []string{"-items", "z"}, wantErr: "not one of a..h"},
		{name: "bad size", args: []string{"-alloc-agents", "10,x"}, wantErr: "not a positive number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseFlags(tt.args)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseFlags(%q) = %v, want an error with %q", tt.args, err, tt.wantErr)
				}
				return
			}
			if err != nil || !tt.check(o) {
				t.Fatalf("parseFlags(%q) = %+v, %v", tt.args, o, err)
			}
		})
	}
}

// TestPlot checks that the plots are well-formed SVG with one curve and
// one legend line per series.
func TestPlot(t *testing.T) {
	dir := t.TempDir()
	r := &Report{Latencies: map[string][]float64{
		"a/wazero": {0.5, 0.7, 1.2, 9}, "a/wasmtime": {0.3, 0.4}, "c/native": {2, 3},
	}}
	if err := plotReport(r, dir); err != nil {
		t.Fatal(err)
	}
	for file, curves := range map[string]int{"latency-a.svg": 2, "latency-c.svg": 1} {
		b, err := os.ReadFile(dir + "/" + file)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			XMLName   xml.Name   `xml:"svg"`
			Polylines []struct{} `xml:"polyline"`
		}
		if err := xml.Unmarshal(b, &doc); err != nil {
			t.Fatalf("%s is not XML: %v", file, err)
		}
		if len(doc.Polylines) != curves {
			t.Errorf("%s has %d curves, want %d", file, len(doc.Polylines), curves)
		}
	}
}

func TestProc(t *testing.T) {
	st, err := readStat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if st.ppid != os.Getppid() {
		t.Errorf("ppid %d, want %d", st.ppid, os.Getppid())
	}
	if r := selfRSS(); r <= 0 {
		t.Errorf("RSS %d, want positive", r)
	}
}

// TestAllocationRound runs item d's measurement at a tiny size against a
// real in-process master: every round must see every agent offered again.
func TestAllocationRound(t *testing.T) {
	cfg := master.DefaultConfig()
	cfg.WorkDir = t.TempDir()
	m, err := master.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(m.Handler())
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetHTTP1(true)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	done := make(chan struct{})
	go func() { m.Run(ctx); close(done) }()
	defer func() { cancel(); <-done; srv.Close() }()
	addr := strings.TrimPrefix(srv.URL, "http://")

	res, err := api.ParseResources(allocResources)
	if err != nil {
		t.Fatal(err)
	}
	const agents = 30
	fleet, err := simagent.Start(ctx, simagent.Config{Master: addr, Agents: agents, Resources: res, TaskDuration: simagent.Forever, HTTP2: true})
	if err != nil {
		t.Fatal(err)
	}
	defer fleet.Close()
	fws, err := startFrameworks(ctx, addr, 4, agents)
	if err != nil {
		t.Fatal(err)
	}
	defer fws.stop()
	for range 2 {
		took, _, err := fws.round(ctx, addr)
		if err != nil {
			t.Fatal(err)
		}
		if took <= 0 {
			t.Errorf("round took %v", took)
		}
		if n := fws.offered.Load(); n != agents {
			t.Errorf("%d agents offered in the round, want %d", n, agents)
		}
	}
	if d := pureAllocate(agents, 4, 2); d <= 0 {
		t.Errorf("allocator pass took %v", d)
	}
}

// replica is an in-process master over a real registry, raft and HTTP
// sharing its loopback port as in mezzo master.
type replica struct {
	addr string
	m    *master.Master
	stop func()
}

// startReplicas starts n in-process masters, peers of each other.
func startReplicas(t *testing.T, n int) []*replica {
	t.Helper()
	var lns []net.Listener
	var addrs []string
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		addrs = append(addrs, ln.Addr().String())
	}
	var out []*replica
	for i, ln := range lns {
		mux := registry.NewMux(ln)
		rcfg := registry.DefaultConfig()
		rcfg.Dir, rcfg.Addr, rcfg.Peers, rcfg.Transport = t.TempDir(), addrs[i], addrs, mux.Raft()
		reg, err := registry.Open(context.Background(), rcfg)
		if err != nil {
			t.Fatal(err)
		}
		cfg := master.DefaultConfig()
		cfg.WorkDir = rcfg.Dir
		cfg.Registry = reg
		m, err := master.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: m.Handler(), Protocols: new(http.Protocols)}
		srv.Protocols.SetHTTP1(true)
		srv.Protocols.SetUnencryptedHTTP2(true)
		go srv.Serve(mux.HTTP())
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { m.Run(ctx); close(done) }()
		var once sync.Once
		stop := func() {
			once.Do(func() {
				mux.Close()
				srv.Close()
				cancel()
				<-done
				reg.Close()
			})
		}
		t.Cleanup(stop)
		out = append(out, &replica{addr: addrs[i], m: m, stop: stop})
	}
	return out
}

// TestFailoverRound runs item f's measurement at a tiny size against three
// in-process replicated masters: after the leader stops, a survivor
// serves a write and every simulated agent re-registers with it, found
// through its list of masters.
func TestFailoverRound(t *testing.T) {
	replicas := startReplicas(t, 3)
	var addrs []string
	for _, r := range replicas {
		addrs = append(addrs, r.addr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	leader, err := waitLeader(ctx, addrs, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	res, err := api.ParseResources(failoverResources)
	if err != nil {
		t.Fatal(err)
	}
	const agents = 30
	// The leader last in the list: agents begin at a standby and follow
	// its 307.
	order := slices.DeleteFunc(slices.Clone(addrs), func(a string) bool { return a == leader })
	fleet, err := simagent.Start(ctx, simagent.Config{Master: strings.Join(append(order, leader), ","), Agents: agents,
		Resources: res, TaskDuration: simagent.Forever, HTTP2: true})
	if err != nil {
		t.Fatal(err)
	}
	defer fleet.Close()
	var dead *replica
	for _, r := range replicas {
		if r.addr == leader {
			dead = r
		}
	}
	r, err := measureFailover(ctx, addrs, leader, func() error { dead.stop(); return nil }, fleet, agents)
	if err != nil {
		t.Fatal(err)
	}
	if r.serve <= 0 || r.all <= 0 {
		t.Errorf("failover measured %+v, want positive times", r)
	}
	next, err := waitLeader(ctx, order, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post("http://"+next+"/api/v1", "application/json", strings.NewReader(`{"type":"GET_AGENTS"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var answer api.OperatorResponse
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil || answer.GetAgents == nil {
		t.Fatalf("GET_AGENTS on the new leader: %s %v", resp.Status, err)
	}
	active := 0
	for _, a := range answer.GetAgents.Agents {
		if a.Active {
			active++
		}
	}
	if active != agents || resp.Header.Get(api.HeaderView) != "" {
		t.Errorf("the new leader has %d of %d agents active (view %q), want all, from the leader itself", active, agents, resp.Header.Get(api.HeaderView))
	}
}
