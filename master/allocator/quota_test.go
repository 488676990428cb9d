package allocator

import (
	"testing"
	"time"
)

// consumed returns a role's quota consumption of a scalar, as the
// allocator counts it.
func consumed(a *Allocator, role, name string) float64 {
	r, n := a.roles[role], a.names[name]
	if r == nil {
		return 0
	}
	return float64(at(r.cons, n)) / 1000
}

func TestQuotaGuaranteeUnderContention(t *testing.T) {
	tests := []struct {
		name      string
		guarantee string
		weight    float64 // of the greedy role
		want      float64 // cpus for the guaranteed role
	}{
		{name: "guarantee against a heavy role", guarantee: "cpus:40", weight: 10, want: 40},
		{name: "guarantee against an equal role", guarantee: "cpus:60", weight: 1, want: 60},
		{name: "guarantee of memory", guarantee: "mem:40960", weight: 10, want: 40},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := New(DefaultConfig())
			a.SetWeight("greedy", tt.weight)
			a.SetQuota("q", res(t, tt.guarantee), nil)
			c := newCluster(t, a, 20, "cpus:4;mem:4096")
			c.framework("g", "greedy", "cpus:1;mem:1024", 0)
			c.framework("q", "q", "cpus:1;mem:1024", 0)
			c.fill(100)
			if got := float64(c.count["q"]); got < tt.want {
				t.Errorf("guaranteed role runs %v tasks (cpus), want at least %v; greedy runs %d", got, tt.want, c.count["g"])
			}
		})
	}
}

func TestQuotaHeadroom(t *testing.T) {
	a := New(DefaultConfig())
	a.SetQuota("q", res(t, "cpus:40"), nil)
	c := newCluster(t, a, 20, "cpus:4;mem:4096")
	c.framework("g", "greedy", "cpus:1;mem:128", 0)
	c.framework("q", "q", "cpus:1;mem:128", 0)
	a.Suppress("q")
	c.fill(100)
	if got := consumed(a, "greedy", "cpus"); got > 40 {
		t.Fatalf("greedy role holds %v cpus while 40 of 80 are guaranteed to an idle role", got)
	}
	later := c.now.Add(10 * time.Second)
	offers := a.Allocate(later)
	if cpus, mem := scalar(offers, "g", "cpus"), scalar(offers, "g", "mem"); cpus != 0 || mem == 0 {
		t.Errorf("greedy role offered cpus:%v;mem:%v, want memory only: only the guaranteed cpus are held back", cpus, mem)
	}
	recoverAll(a, offers, 0, later)
	c.now = later
	a.Revive("q")
	c.fill(100)
	if got := c.count["q"]; got != 40 {
		t.Errorf("revived guaranteed role runs %d one-cpu tasks, want 40", got)
	}
}

func TestQuotaLimit(t *testing.T) {
	tests := []struct {
		name    string
		limit   string
		agents  []string
		resName string
		max     float64
		offers  int // offers in the first pass
	}{
		{
			name: "limit cuts the offer", limit: "cpus:10",
			agents:  []string{"cpus:4;mem:1024", "cpus:4;mem:1024", "cpus:4;mem:1024", "cpus:4;mem:1024"},
			resName: "cpus", max: 10, offers: 4, // the last offers memory only
		},
		{
			name: "reservations count toward the limit", limit: "cpus:10",
			agents:  []string{"cpus(lim):4;cpus:4;mem:1024", "cpus:4;mem:1024", "cpus:4;mem:1024"},
			resName: "cpus", max: 10, offers: 3,
		},
		{
			name: "nothing but ports left is not offered", limit: "cpus:4",
			agents:  []string{"cpus:4;ports:[1-10]", "cpus:4;ports:[11-20]"},
			resName: "cpus", max: 4, offers: 1,
		},
		{
			name: "memory limit", limit: "mem:1500",
			agents:  []string{"cpus:4;mem:1024", "cpus:4;mem:1024", "cpus:4;mem:1024"},
			resName: "mem", max: 1500, offers: 3,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := New(DefaultConfig())
			a.SetQuota("lim", nil, res(t, tt.limit))
			for i, r := range tt.agents {
				a.AddAgent(string(rune('a'+i)), res(t, r), nil)
			}
			a.AddFramework("f", roles("lim"))
			offers := a.Allocate(t0)
			if len(offers) != tt.offers {
				t.Errorf("%d offers, want %d:\n%s", len(offers), tt.offers, describe(offers))
			}
			for i := range 5 {
				if got := consumed(a, "lim", tt.resName); got > tt.max {
					t.Fatalf("pass %d: role consumes %v %s, over its limit %v", i, got, tt.resName, tt.max)
				}
				a.Allocate(t0.Add(time.Duration(i) * time.Second))
			}
		})
	}
}

func TestQuotaLimitUnderChurn(t *testing.T) {
	tests := []struct {
		name       string
		quotaRole  string
		limit      string
		frameworks map[string]string // id → task; all in role
		role       string
		max, least float64 // cpus
	}{
		{
			name: "flat role", quotaRole: "lim", limit: "cpus:25;mem:100000", role: "lim",
			frameworks: map[string]string{"l1": "cpus:1.5;mem:700", "l2": "cpus:0.5;mem:3000"},
			max:        25, least: 24,
		},
		{
			name: "limit on the parent of the frameworks' role", quotaRole: "eng", limit: "cpus:6",
			role: "eng/web", frameworks: map[string]string{"w1": "cpus:1;mem:100", "w2": "cpus:0.5;mem:100"},
			max: 6, least: 6,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := New(DefaultConfig())
			a.SetQuota(tt.quotaRole, nil, res(t, tt.limit))
			c := newCluster(t, a, 20, "cpus:4;mem:4096")
			for _, id := range []string{"l1", "l2", "w1", "w2"} {
				if task, ok := tt.frameworks[id]; ok {
					c.framework(id, tt.role, task, 0)
				}
			}
			c.framework("other", "other", "cpus:1;mem:256", 1)
			most := 0.0
			for i := range 200 {
				c.pass(5, 15)
				got := consumed(a, tt.quotaRole, "cpus")
				if got > tt.max {
					t.Fatalf("pass %d: role %s consumes %v cpus, over its limit of %v", i, tt.quotaRole, got, tt.max)
				}
				most = max(most, got)
			}
			if most < tt.least {
				t.Errorf("role %s consumed at most %v cpus in 200 passes, want its limit to be reached (at least %v)", tt.quotaRole, most, tt.least)
			}
		})
	}
}
