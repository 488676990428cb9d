package main

import (
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

// These tests drive the controller's decisions directly, without a
// master: placement, scaling, rolling restarts, backoff. The e2e tests
// run the whole sample against a real cluster.

func TestConstraints(t *testing.T) {
	attrs := func(s string) []api.Attribute {
		a, err := api.ParseAttributes(s)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	tests := []struct {
		c      []string
		host   string
		attrs  string
		others []string
		want   bool
	}{
		{[]string{"hostname", "UNIQUE"}, "h1", "", nil, true},
		{[]string{"hostname", "UNIQUE"}, "h1", "", []string{"h2", "h1"}, false},
		{[]string{"rack", "CLUSTER", "r1"}, "h1", "rack:r1", nil, true},
		{[]string{"rack", "CLUSTER", "r1"}, "h1", "rack:r2", nil, false},
		{[]string{"rack", "CLUSTER", "r1"}, "h1", "", nil, false},
		{[]string{"rack", "CLUSTER"}, "h1", "rack:r2", nil, true},
		{[]string{"rack", "CLUSTER"}, "h1", "rack:r2", []string{"r1"}, false},
		{[]string{"rack", "LIKE", "r[12]"}, "h1", "rack:r2", nil, true},
		{[]string{"rack", "LIKE", "r[12]"}, "h1", "rack:r12", nil, false}, // whole value
		{[]string{"rack", "UNLIKE", "r3"}, "h1", "rack:r2", nil, true},
		{[]string{"rack", "UNLIKE", "r3"}, "h1", "rack:r3", nil, false},
		{[]string{"rack", "UNLIKE", "r3"}, "h1", "", nil, true},
		{[]string{"zone", "MAX_PER", "2"}, "h1", "zone:a", []string{"a", "b"}, true},
		{[]string{"zone", "MAX_PER", "2"}, "h1", "zone:a", []string{"a", "a"}, false},
		{[]string{"cores", "LIKE", "4"}, "h1", "cores:4", nil, true}, // a scalar attribute
	}
	for _, tt := range tests {
		c, err := parseConstraint(tt.c)
		if err != nil {
			t.Fatalf("%v: %v", tt.c, err)
		}
		v, ok := fieldOf(c.field, tt.host, attrs(tt.attrs))
		if got := c.allows(v, ok, tt.others); got != tt.want {
			t.Errorf("%v on %s %q beside %v: %v, want %v", tt.c, tt.host, tt.attrs, tt.others, got, tt.want)
		}
	}
	for _, bad := range [][]string{{"hostname"}, {"hostname", "UNIQUE", "x"}, {"rack", "LIKE"}, {"rack", "LIKE", "("},
		{"rack", "MAX_PER", "0"}, {"rack", "MAX_PER", "x"}, {"rack", "NEAR", "r1"}, {"", "UNIQUE"}} {
		if _, err := parseConstraint(bad); err == nil {
			t.Errorf("parseConstraint(%q) succeeded", bad)
		}
	}
}

func inst(id string, version int, state string, healthy bool, age int) *Instance {
	return &Instance{TaskID: id, Version: version, State: state, Healthy: healthy,
		Launched: time.Unix(1000, 0).Add(-time.Duration(age) * time.Second)}
}

func ids(insts []*Instance) string {
	var out []string
	for _, in := range insts {
		out = append(out, in.TaskID)
	}
	return strings.Join(out, " ")
}

func TestPlan(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	tests := []struct {
		name       string
		app        App
		version    int
		insts      []*Instance // oldest first
		wantLaunch int
		wantKill   string
	}{
		{"scale up from nothing", App{Instances: 3}, 1, nil, 3, ""},
		{"staging counts", App{Instances: 3}, 1, []*Instance{inst("a", 1, instStaging, false, 2)}, 2, ""},
		{"killing does not count", App{Instances: 1}, 1, []*Instance{inst("a", 1, instKilling, true, 2)}, 1, ""},
		{"scale down: unhealthy first, then newest", App{Instances: 1, HealthCheck: &api.HealthCheck{}}, 1,
			[]*Instance{inst("old", 1, instRunning, true, 3), inst("mid", 1, instRunning, false, 2), inst("new", 1, instRunning, true, 1)}, 0, "mid new"},
		{"rolling, defaults: all new start, old stay", App{Instances: 2}, 2,
			[]*Instance{inst("o1", 1, instRunning, false, 3), inst("o2", 1, instRunning, false, 3)}, 2, ""},
		{"rolling, defaults: old stop as new are up", App{Instances: 2}, 2,
			[]*Instance{inst("o1", 1, instRunning, false, 3), inst("o2", 1, instRunning, false, 3),
				inst("n1", 2, instRunning, false, 1), inst("n2", 2, instStaging, false, 1)}, 0, "o1"},
		{"rolling without surplus: one old at a time", App{Instances: 2, MinimumHealthCapacity: f(0.5), MaximumOverCapacity: f(0)}, 2,
			[]*Instance{inst("o1", 1, instRunning, false, 3), inst("o2", 1, instRunning, false, 3)}, 1, "o1"},
		{"rolling: an unhealthy old one goes at once", App{Instances: 2, HealthCheck: &api.HealthCheck{}}, 2,
			[]*Instance{inst("o1", 1, instRunning, false, 3), inst("o2", 1, instRunning, true, 3)}, 2, "o1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			launch, kill := plan(&appState{App: tt.app, Version: tt.version}, tt.insts)
			if launch != tt.wantLaunch || ids(kill) != tt.wantKill {
				t.Fatalf("launch %d, kill %q; want %d, %q", launch, ids(kill), tt.wantLaunch, tt.wantKill)
			}
		})
	}
}

func newTestController(t *testing.T) *controller {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state.json")
	st, err := loadState(path)
	if err != nil {
		t.Fatal(err)
	}
	return newController(path, st, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

func offer(host, attrs string, cpus float64) api.Offer {
	a, _ := api.ParseAttributes(attrs)
	return api.Offer{
		ID: api.OfferID{Value: "o-" + host}, AgentID: api.AgentID{Value: "agent-" + host}, Hostname: host, Attributes: a,
		Resources: api.Resources{api.ScalarResource("cpus", cpus), api.ScalarResource("mem", 1024)},
	}
}

func TestMatchPlacesByConstraintsAndResources(t *testing.T) {
	c := newTestController(t)
	now := time.Unix(1000, 0)
	err := c.put(
		App{ID: "uniq", Instances: 3, Command: "x", Constraints: [][]string{{"hostname", "UNIQUE"}}},
		App{ID: "racked", Instances: 3, Command: "x", CPUs: 0.5, Constraints: [][]string{{"rack", "LIKE", "r1"}, {"rack", "MAX_PER", "2"}}},
	)
	if err != nil {
		t.Fatal(err)
	}
	placed := map[string]int{}
	for _, o := range []api.Offer{offer("h1", "rack:r1", 1), offer("h2", "rack:r1", 1), offer("h3", "rack:r2", 1), offer("h4", "rack:r1", 1)} {
		for _, task := range c.match(o, now) {
			placed[task.Name+"@"+o.Hostname]++
		}
	}
	// Apps go in ID order: two of racked fill h1, whose rack then holds
	// its MAX_PER; uniq takes one agent each of the rest.
	want := map[string]int{"racked@h1": 2, "uniq@h2": 1, "uniq@h3": 1, "uniq@h4": 1}
	if fmt.Sprint(placed) != fmt.Sprint(want) {
		t.Fatalf("placed %v, want %v", placed, want)
	}
	c.mu.Lock()
	waiting := c.st.Apps["racked"].Waiting
	c.mu.Unlock()
	if !strings.Contains(waiting, "rack MAX_PER 2") {
		t.Fatalf("racked waits because %q, want the MAX_PER constraint named", waiting)
	}
}

func TestFailuresBackOff(t *testing.T) {
	c := newTestController(t)
	now := time.Unix(1000, 0)
	if err := c.put(App{ID: "crashy", Instances: 1, Command: "exit 1"}); err != nil {
		t.Fatal(err)
	}
	var backoffs []time.Duration
	for i := 0; i < 8; i++ {
		tasks := c.match(offer("h1", "", 1), now)
		if len(tasks) != 1 {
			t.Fatalf("attempt %d: %d tasks launched at %v", i, len(tasks), now)
		}
		if again := c.match(offer("h1", "", 1), now); len(again) != 0 {
			t.Fatalf("attempt %d: launched a second instance", i)
		}
		c.update(api.TaskStatus{TaskID: tasks[0].TaskID, State: api.TaskFailed}, now)
		c.mu.Lock()
		b := c.st.Apps["crashy"].Backoff
		c.mu.Unlock()
		backoffs = append(backoffs, b)
		if len(c.match(offer("h1", "", 1), now.Add(b-time.Millisecond))) != 0 {
			t.Fatalf("attempt %d: relaunched before its backoff of %v", i, b)
		}
		now = now.Add(b)
	}
	if got := fmt.Sprint(backoffs); got != "[1s 2s 4s 8s 16s 32s 1m0s 1m0s]" {
		t.Fatalf("backoffs %s", got)
	}
	// A healthy instance resets the backoff.
	tasks := c.match(offer("h1", "", 1), now)
	c.update(api.TaskStatus{TaskID: tasks[0].TaskID, State: api.TaskRunning}, now)
	c.mu.Lock()
	defer c.mu.Unlock()
	if as := c.st.Apps["crashy"]; as.Backoff != 0 || as.Failures != 0 {
		t.Fatalf("after a running instance: backoff %v, failures %d", as.Backoff, as.Failures)
	}
}

func TestBadApps(t *testing.T) {
	for _, body := range []string{
		`{"id": "Bad", "instances": 1, "command": "x"}`,
		`{"id": "a", "instances": -1, "command": "x"}`,
		`{"id": "a", "instances": 1}`,
		`{"id": "a", "instances": 1, "command": "x", "module": "` + strings.Repeat("a", 64) + `"}`,
		`{"id": "a", "instances": 1, "command": "x", "constraints": [["hostname", "NEAR"]]}`,
		`{"id": "a", "instances": 1, "command": "x", "minimum_health_capacity": 1, "maximum_over_capacity": 0}`,
		`{"id": "a", "instances": 1, "command": "x", "minimum_health_capacity": 2}`,
		`{"id": "a", "instances": 1, "command": "x", "health_check": {"type": "HTTP"}}`,
		`{"id": "a", "instances": 1, "command": "x", "instanecs": 2}`,
		`{"id": "a", "instances": 1, "command": "x"} {}`,
		`{"id": "a", "instances": "one", "command": "x"}`,
	} {
		if _, err := decodeApp(strings.NewReader(body)); err == nil {
			t.Errorf("decodeApp(%s) succeeded", body)
		}
	}
}

// FuzzDecodeApp checks that no definition makes decoding or validation
// panic, and that an accepted app's constraints all parse.
func FuzzDecodeApp(f *testing.F) {
	f.Add(`{"id": "web", "instances": 2, "command": "x", "constraints": [["hostname", "UNIQUE"], ["rack", "MAX_PER", "2"]]}`)
	f.Add(`{"id": "w", "instances": 1, "module": "` + strings.Repeat("0", 64) + `", "health_check": {"type": "TCP", "tcp": {"port": 80}}}`)
	f.Fuzz(func(t *testing.T, body string) {
		a, err := decodeApp(strings.NewReader(body))
		if err != nil {
			return
		}
		if _, err := a.validate(); err != nil {
			t.Fatalf("accepted %s, then: %v", body, err)
		}
	})
}
