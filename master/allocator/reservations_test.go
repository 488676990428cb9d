package allocator

import (
	"testing"

	"github.com/mezzo-cluster/mezzo/api"
)

func TestReservations(t *testing.T) {
	const agent = "cpus(eng):4;mem(eng):1024;cpus:2;mem:512"
	tests := []struct {
		name  string
		roles []string // one framework per role, f-<role>
		want  string
	}{
		{
			name:  "other roles get only unreserved resources",
			roles: []string{"ops"},
			want:  "f-ops a1 ops cpus:2;mem:512",
		},
		{
			name:  "the role gets its reservations and unreserved resources",
			roles: []string{"eng"},
			want:  "f-eng a1 eng cpus:2;cpus(eng):4;mem:512;mem(eng):1024",
		},
		{
			name:  "a sub-role gets its parent's reservations",
			roles: []string{"eng/backend"},
			want:  "f-eng/backend a1 eng/backend cpus:2;cpus(eng):4;mem:512;mem(eng):1024",
		},
		{
			name:  "a parent does not get its sub-role's reservations",
			roles: []string{"engineering", "en"},
			want:  "f-en a1 en cpus:2;mem:512",
		},
		{
			name:  "reserved and unreserved go to different roles",
			roles: []string{"eng", "ops"},
			want:  "f-eng a1 eng cpus:2;cpus(eng):4;mem:512;mem(eng):1024",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := New(DefaultConfig())
			a.AddAgent("a1", res(t, agent), nil)
			for _, r := range tt.roles {
				a.AddFramework("f-"+r, roles(r))
			}
			offers := a.Allocate(t0)
			checkUnallocated(t, offers)
			if got := describe(offers); got != tt.want {
				t.Errorf("offers:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

func TestReservedGoesToItsRoleWhenUnreservedIsTaken(t *testing.T) {
	a := New(DefaultConfig())
	a.AddAgent("a1", res(t, "cpus(eng):4;mem(eng):1024;cpus:2;mem:512"), nil)
	a.AddFramework("f-ops", roles("ops"))
	a.AddFramework("f-eng", roles("eng"))
	a.Allocated("f-eng", "a1", "eng", res(t, "cpus:1;mem:100")) // eng's share is higher
	want := "f-eng a1 eng cpus(eng):4;mem(eng):1024\nf-ops a1 ops cpus:1;mem:412"
	if got := describe(a.Allocate(t0)); got != want {
		t.Errorf("offers:\n%s\nwant:\n%s", got, want)
	}
}

func TestMinAllocatable(t *testing.T) {
	tests := []struct {
		name   string
		cfg    Config
		agent  string
		opts   FrameworkOptions
		offers int
	}{
		{name: "default minimum: too small", cfg: DefaultConfig(), agent: "cpus:0.005;mem:16", opts: roles("r")},
		{name: "default minimum: enough cpus", cfg: DefaultConfig(), agent: "cpus:0.01;mem:16", opts: roles("r"), offers: 1},
		{name: "default minimum: enough memory", cfg: DefaultConfig(), agent: "cpus:0.001;mem:32", opts: roles("r"), offers: 1},
		{name: "no minimum", cfg: Config{}, agent: "cpus:0.001", opts: roles("r"), offers: 1},
		{name: "ports alone are below the default", cfg: DefaultConfig(), agent: "ports:[1-100]", opts: roles("r")},
		{
			name: "a minimum counts ports", agent: "ports:[1-100]", opts: roles("r"), offers: 1,
			cfg: Config{MinAllocatable: []api.Resources{{api.ScalarResource("cpus", 1)}, {api.RangesResource("ports", api.Range{Begin: 1, End: 10})}}},
		},
		{
			name: "a minimum of several resources needs them all", agent: "cpus:4;mem:16", opts: roles("r"),
			cfg: Config{MinAllocatable: []api.Resources{{api.ScalarResource("cpus", 1), api.ScalarResource("mem", 32)}}},
		},
		{
			name: "the framework's own minimum is larger", cfg: DefaultConfig(), agent: "cpus:1;mem:1024",
			opts: FrameworkOptions{Roles: []string{"r"}, MinAllocatable: map[string][]api.Resources{"r": {{api.ScalarResource("cpus", 2)}}}},
		},
		{
			name: "the framework's own minimum is smaller", cfg: DefaultConfig(), agent: "cpus:0.001;mem:8", offers: 1,
			opts: FrameworkOptions{Roles: []string{"r"}, MinAllocatable: map[string][]api.Resources{"r": {{api.ScalarResource("mem", 8)}}}},
		},
		{
			name: "the framework's empty minimum accepts anything", cfg: DefaultConfig(), agent: "cpus:0.001", offers: 1,
			opts: FrameworkOptions{Roles: []string{"r"}, MinAllocatable: map[string][]api.Resources{"r": {}}},
		},
		{
			name: "the framework's minimum for another role does not apply", cfg: DefaultConfig(), agent: "cpus:0.001",
			opts: FrameworkOptions{Roles: []string{"r"}, MinAllocatable: map[string][]api.Resources{"s": {}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := New(tt.cfg)
			a.AddAgent("a1", res(t, tt.agent), nil)
			a.AddFramework("f1", tt.opts)
			if got := a.Allocate(t0); len(got) != tt.offers {
				t.Errorf("offers:\n%s\nwant %d", describe(got), tt.offers)
			}
		})
	}
}

func TestMinAllocatableLeftovers(t *testing.T) {
	a := New(DefaultConfig())
	a.AddAgent("a1", res(t, "cpus:4;mem:1024"), nil)
	a.AddFramework("f1", roles("r"))
	o := a.Allocate(t0)[0]
	a.Recover("f1", "a1", "r", res(t, "cpus:0.005;mem:16").Allocate("r"), 0, t0)
	if got := a.Allocate(t0); len(got) != 0 {
		t.Errorf("leftovers below the minimum offered:\n%s", describe(got))
	}
	a.Recover("f1", "a1", "r", o.Resources, 0, t0)
	if got := a.Allocate(t0); len(got) != 1 {
		t.Errorf("%d offers once everything came back, want 1", len(got))
	}
}
