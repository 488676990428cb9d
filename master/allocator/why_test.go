package allocator

import (
	"strings"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

func TestWhy(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, a *Allocator)
		want  []string // substrings, one per sentence expected
	}{
		{
			name:  "unknown framework",
			setup: func(t *testing.T, a *Allocator) {},
			want:  []string{"not known"},
		},
		{
			name: "no pass yet",
			setup: func(t *testing.T, a *Allocator) {
				a.AddFramework("f1", roles("r"))
			},
			want: []string{"no allocation pass"},
		},
		{
			name: "inactive",
			setup: func(t *testing.T, a *Allocator) {
				a.AddFramework("f1", roles("r"))
				a.DeactivateFramework("f1")
				a.Allocate(t0)
			},
			want: []string{"inactive"},
		},
		{
			name: "got an offer",
			setup: func(t *testing.T, a *Allocator) {
				a.AddAgent("a1", res(t, "cpus:1;mem:64"), nil)
				a.AddFramework("f1", roles("r"))
				a.Allocate(t0)
			},
		},
		{
			name: "suppressed",
			setup: func(t *testing.T, a *Allocator) {
				a.AddAgent("a1", res(t, "cpus:1;mem:64"), nil)
				a.AddFramework("f1", roles("r"))
				a.Suppress("f1")
				a.Allocate(t0)
			},
			want: []string{"role r is suppressed"},
		},
		{
			name: "filtered",
			setup: func(t *testing.T, a *Allocator) {
				a.AddAgent("a1", res(t, "cpus:1;mem:64"), nil)
				a.AddAgent("a2", res(t, "cpus:1;mem:64"), nil)
				a.AddFramework("f1", roles("r"))
				recoverAll(a, a.Allocate(t0), time.Hour, t0)
				a.Allocate(t0)
			},
			want: []string{"role r: 2 agents skipped by refusal filters"},
		},
		{
			name: "incremental passes add to the last full pass",
			setup: func(t *testing.T, a *Allocator) {
				a.AddAgent("a1", res(t, "cpus:1;mem:64"), nil)
				a.AddAgent("a2", res(t, "cpus:1;mem:64"), nil)
				a.AddFramework("f1", roles("r"))
				recoverAll(a, a.Allocate(t0), time.Hour, t0)
				a.Allocate(t0)
				a.AllocateAgents(t0, "a1")
			},
			want: []string{"role r: 3 agents skipped by refusal filters"},
		},
		{
			name: "below the minimum",
			setup: func(t *testing.T, a *Allocator) {
				a.AddAgent("a1", res(t, "cpus:0.001;mem:1"), nil)
				a.AddFramework("f1", roles("r"))
				a.Allocate(t0)
			},
			want: []string{"role r: 1 agent had less free than the minimum allocatable (cpus:0.01 | mem:32)"},
		},
		{
			name: "below its own minimum",
			setup: func(t *testing.T, a *Allocator) {
				a.AddAgent("a1", res(t, "cpus:1;mem:64"), nil)
				a.AddFramework("f1", FrameworkOptions{Roles: []string{"r"}, MinAllocatable: map[string][]api.Resources{
					"r": {res(t, "cpus:2;mem:128")},
				}})
				a.Allocate(t0)
			},
			want: []string{"role r: 1 agent had less free than the framework's minimum allocatable (cpus:2;mem:128)"},
		},
		{
			name: "at the quota limit",
			setup: func(t *testing.T, a *Allocator) {
				a.SetQuota("r", nil, res(t, "cpus:1"))
				a.AddAgent("a1", res(t, "cpus:1;ports:[1-2]"), nil)
				a.AddAgent("a2", res(t, "cpus:1;ports:[1-2]"), nil)
				a.AddFramework("f1", roles("r"))
				a.Allocate(t0)
				a.Allocate(t0)
			},
			want: []string{"role r: on 1 agent nothing was offered because the role is at its quota limit"},
		},
		{
			name: "held back for a guarantee",
			setup: func(t *testing.T, a *Allocator) {
				a.SetQuota("q", res(t, "cpus:2"), nil)
				a.AddAgent("a1", res(t, "cpus:2;ports:[1-2]"), nil)
				a.AddFramework("f1", roles("r"))
				a.Allocate(t0)
			},
			want: []string{"role r: on 1 agent unreserved resources were held back for other roles' quota guarantees"},
		},
		{
			name: "lower shares first",
			setup: func(t *testing.T, a *Allocator) {
				a.AddAgent("a1", res(t, "cpus:1;mem:64"), nil)
				a.AddFramework("f0", roles("r"))
				a.AddFramework("f1", roles("r"))
				a.Allocate(t0)
			},
			want: []string{"role r: 1 agent went to frameworks of the role with lower dominant shares"},
		},
		{
			name: "lower role shares first",
			setup: func(t *testing.T, a *Allocator) {
				a.AddAgent("a1", res(t, "cpus:1;mem:64"), nil)
				a.AddFramework("f0", roles("q"))
				a.AddFramework("f1", roles("r"))
				a.Allocate(t0)
			},
			want: []string{"role r: the free resources went to roles with lower weighted dominant shares"},
		},
		{
			name: "no free agent",
			setup: func(t *testing.T, a *Allocator) {
				a.AddAgent("a1", res(t, "cpus:1;mem:64"), nil)
				a.AddFramework("f1", roles("r"))
				a.Allocate(t0)
				a.Allocate(t0)
			},
			want: []string{"no active agent with free resources"},
		},
		{
			name: "offered, but cut to the quota limit",
			setup: func(t *testing.T, a *Allocator) {
				a.SetQuota("r", nil, res(t, "cpus:0.5"))
				a.AddAgent("a1", res(t, "cpus:1;mem:64"), nil)
				a.AddFramework("f1", roles("r"))
				a.Allocate(t0)
			},
			want: []string{"role r: offers on 1 agent were cut to the quota limits of the role"},
		},
		{
			name: "offered in full under a quota limit",
			setup: func(t *testing.T, a *Allocator) {
				a.SetQuota("r", nil, res(t, "cpus:4"))
				a.AddAgent("a1", res(t, "cpus:1;mem:64"), nil)
				a.AddFramework("f1", roles("r"))
				a.Allocate(t0)
			},
		},
		{
			name: "reserved for another role",
			setup: func(t *testing.T, a *Allocator) {
				a.AddAgent("a1", res(t, "cpus(other):1;mem(other):64"), nil)
				a.AddFramework("f1", roles("r"))
				a.Allocate(t0)
			},
			want: []string{"role r: 1 agent had free resources only reserved for other roles"},
		},
		{
			name: "GPU agent",
			setup: func(t *testing.T, a *Allocator) {
				a.AddAgent("a1", res(t, "cpus:1;mem:64;gpus:1"), nil)
				a.AddFramework("f1", roles("r"))
				a.Allocate(t0)
			},
			want: []string{"1 agent with GPUs skipped"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := New(DefaultConfig())
			tt.setup(t, a)
			got := a.Why("f1")
			if len(got) != len(tt.want) {
				t.Fatalf("Why = %q, want %d sentences like %q", got, len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("Why[%d] = %q, want it to say %q", i, got[i], w)
				}
			}
		})
	}
}
