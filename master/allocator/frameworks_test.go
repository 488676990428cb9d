package allocator

import (
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

func TestSuppressRevive(t *testing.T) {
	a := New(DefaultConfig())
	a.AddAgent("a1", res(t, "cpus:4;mem:1024"), nil)
	a.AddFramework("f1", roles("r"))
	a.Suppress("f1")
	if got := a.Allocate(t0); len(got) != 0 {
		t.Fatalf("suppressed framework offered:\n%s", describe(got))
	}
	a.AddFramework("f2", roles("r"))
	if got, want := describe(a.Allocate(t0)), "f2 a1 r cpus:4;mem:1024"; got != want {
		t.Fatalf("offers:\n%s\nwant:\n%s", got, want)
	}
	a.RemoveFramework("f2")
	a.Revive("f1")
	if got, want := describe(a.Allocate(t0)), "f1 a1 r cpus:4;mem:1024"; got != want {
		t.Errorf("after REVIVE, offers:\n%s\nwant:\n%s", got, want)
	}
}

func TestSuppressPerRole(t *testing.T) {
	a := New(DefaultConfig())
	a.AddAgent("a1", res(t, "cpus(x):2;cpus(y):2;mem:1024"), nil)
	a.AddFramework("f1", FrameworkOptions{Roles: []string{"x", "y"}, SuppressedRoles: []string{"y"}})
	got := a.Allocate(t0)
	if len(got) != 1 || got[0].Role != "x" {
		t.Fatalf("offers:\n%s\nwant one offer in role x", describe(got))
	}
	a.Suppress("f1", "x")
	a.Revive("f1", "y")
	got = a.Allocate(t0)
	if len(got) != 1 || got[0].Role != "y" {
		t.Errorf("offers:\n%s\nwant one offer in role y", describe(got))
	}
}

func TestMultiRole(t *testing.T) {
	a := New(DefaultConfig())
	a.AddAgent("a1", res(t, "cpus(analytics):2;cpus(web):3;cpus:4;mem:1024"), nil)
	a.AddFramework("f1", FrameworkOptions{Roles: []string{"web", "analytics"}})
	offers := a.Allocate(t0)
	checkUnallocated(t, offers)
	if len(offers) != 2 {
		t.Fatalf("offers:\n%s\nwant one per role", describe(offers))
	}
	byRole := map[string]Offer{}
	for _, o := range offers {
		byRole[o.Role] = o
	}
	if got := byRole["web"].Resources.Reserved("analytics"); !got.Empty() {
		t.Errorf("web offer holds analytics reservations: %s", got)
	}
	if got := byRole["analytics"].Resources.Reserved("web"); !got.Empty() {
		t.Errorf("analytics offer holds web reservations: %s", got)
	}
	if got := scalar(offers, "f1", "cpus"); got != 9 {
		t.Errorf("offers hold %v cpus, want all 9", got)
	}
}

func TestUpdateFramework(t *testing.T) {
	a := New(DefaultConfig())
	a.AddAgent("a1", res(t, "cpus:4;mem:1024"), nil)
	a.AddFramework("f1", roles("old"))
	o := a.Allocate(t0)[0]
	a.UpdateFramework("f1", roles("new"))
	if got := a.Allocate(t0); len(got) != 0 {
		t.Fatalf("offered while the old role's offer is outstanding:\n%s", describe(got))
	}
	a.Recover("f1", "a1", "old", o.Resources, 0, t0) // the master rescinds
	if got, want := describe(a.Allocate(t0)), "f1 a1 new cpus:4;mem:1024"; got != want {
		t.Errorf("offers:\n%s\nwant:\n%s", got, want)
	}
	if got := a.RoleShare("old"); got != 0 {
		t.Errorf("old role's share %v after the rescind, want 0", got)
	}
}

func TestRemoveFreesEverything(t *testing.T) {
	tests := []struct {
		name   string
		remove func(a *Allocator)
		want   string
	}{
		{
			name:   "remove framework",
			remove: func(a *Allocator) { a.RemoveFramework("f1") },
			want:   "f2 a1 r cpus:4;mem:1024\nf2 a2 r cpus:2;mem:512",
		},
		{
			name: "deactivate framework keeps its allocations",
			remove: func(a *Allocator) {
				a.DeactivateFramework("f1")
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := New(DefaultConfig())
			a.AddAgent("a1", res(t, "cpus:4;mem:1024"), nil)
			a.AddAgent("a2", res(t, "cpus:2;mem:512"), nil)
			a.AddFramework("f1", roles("r"))
			offers := a.Allocate(t0)
			a.Allocated("f1", "a1", "r", res(t, "cpus:1").Allocate("r")) // beyond the offer: ignored, no room
			if len(offers) != 2 {
				t.Fatalf("first pass: %d offers, want 2", len(offers))
			}
			a.AddFramework("f2", roles("r"))
			tt.remove(a)
			if got := describe(a.Allocate(t0.Add(time.Second))); got != tt.want {
				t.Errorf("offers:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

func TestRemoveAgent(t *testing.T) {
	a := New(DefaultConfig())
	a.AddAgent("a1", res(t, "cpus:6;mem:1536"), nil)
	a.AddAgent("a2", res(t, "cpus:2;mem:512"), nil)
	a.AddFramework("f1", roles("r"))
	offers := a.Allocate(t0)
	if got := a.Share("f1"); got != 1 {
		t.Fatalf("share %v after the first pass, want 1", got)
	}
	a.RemoveAgent("a1")
	if got := a.Share("f1"); got != 1 {
		t.Errorf("share %v after removing an agent, want 1 (all of the other)", got)
	}
	if got := consumed(a, "r", "cpus"); got != 2 {
		t.Errorf("role consumes %v cpus after removing an agent, want 2", got)
	}
	recoverAll(a, offers, time.Hour, t0) // the offer on a1 is gone; a2's comes back
	a.Allocated("f1", "a1", "r", res(t, "cpus:1"))
	if got := consumed(a, "r", "cpus"); got != 0 {
		t.Errorf("role consumes %v cpus after everything was recovered, want 0", got)
	}
}

func TestRemovedFrameworkHoldsNothing(t *testing.T) {
	a := New(DefaultConfig())
	a.AddAgent("a1", res(t, "cpus:4;mem:1024"), nil)
	a.AddFramework("f1", roles("r"))
	a.Allocate(t0)
	a.RemoveFramework("f1")
	if got := a.RoleShare("r"); got != 0 {
		t.Errorf("role share %v after its only framework left, want 0", got)
	}
	if got := consumed(a, "r", "cpus"); got != 0 {
		t.Errorf("role consumes %v cpus after its only framework left, want 0", got)
	}
	if len(a.roles["r"].members) != 0 {
		t.Errorf("role keeps %d members", len(a.roles["r"].members))
	}
}

func TestAllocatedBeforeAddFramework(t *testing.T) {
	a := New(DefaultConfig())
	a.AddAgent("a1", res(t, "cpus:4;mem:1024"), nil)
	a.Allocated("f1", "a1", "r", res(t, "cpus:3;mem:512"))
	if got := a.Allocate(t0); len(got) != 0 {
		t.Fatalf("offers to a framework not yet added:\n%s", describe(got))
	}
	a.AddFramework("f1", roles("r"))
	if got, want := describe(a.Allocate(t0)), "f1 a1 r cpus:1;mem:512"; got != want {
		t.Errorf("offers:\n%s\nwant:\n%s", got, want)
	}
	if got := a.Share("f1"); got != 1 {
		t.Errorf("share %v, want 1 (all memory)", got)
	}
}

func TestGPUAndRevocable(t *testing.T) {
	tests := []struct {
		name string
		cfg  func(*Config)
		opts FrameworkOptions
		want string
	}{
		{
			name: "GPU agents are hidden from frameworks without GPU_RESOURCES",
			opts: roles("r"),
			want: "f1 cpu r cpus:1;mem:64",
		},
		{
			name: "GPU agents are offered to frameworks with GPU_RESOURCES",
			opts: FrameworkOptions{Roles: []string{"r"}, GPU: true},
			want: "f1 cpu r cpus:1;mem:64\nf1 gpu r cpus:4;gpus:2;mem:1024",
		},
		{
			name: "GPU filtering can be turned off",
			cfg:  func(c *Config) { c.FilterGPUResources = false },
			opts: roles("r"),
			want: "f1 cpu r cpus:1;mem:64\nf1 gpu r cpus:4;gpus:2;mem:1024",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			a := New(cfg)
			a.AddAgent("gpu", res(t, "cpus:4;mem:1024;gpus:2"), nil)
			a.AddAgent("cpu", res(t, "cpus:1;mem:64"), nil)
			a.AddFramework("f1", tt.opts)
			if got := describe(a.Allocate(t0)); got != tt.want {
				t.Errorf("offers:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

func TestRevocable(t *testing.T) {
	total := res(t, "cpus:2;mem:256")
	revocable := res(t, "cpus:4")
	revocable[0].Revocable = &api.RevocableInfo{}
	for _, capable := range []bool{false, true} {
		a := New(DefaultConfig())
		a.AddAgent("a1", total.Plus(revocable), nil)
		a.AddFramework("f1", FrameworkOptions{Roles: []string{"r"}, Revocable: capable})
		offers := a.Allocate(t0)
		if len(offers) != 1 {
			t.Fatalf("revocable=%v: %d offers, want 1", capable, len(offers))
		}
		if got, want := offers[0].Resources.ScalarValue("cpus"), map[bool]float64{false: 2, true: 6}[capable]; got != want {
			t.Errorf("revocable=%v: offered %v cpus, want %v", capable, got, want)
		}
	}
}
