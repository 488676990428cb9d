package allocator

import (
	"strings"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

func TestAllocateBasics(t *testing.T) {
	tests := []struct {
		name  string
		setup func(a *Allocator)
		want  string
	}{
		{
			name: "one framework gets the whole agent",
			setup: func(a *Allocator) {
				a.AddAgent("a1", res(t, "cpus:4;mem:1024;ports:[31000-32000];disks:{d1,d2}"), nil)
				a.AddFramework("f1", roles("web"))
			},
			want: "f1 a1 web cpus:4;disks:{d1,d2};mem:1024;ports:[31000-32000]",
		},
		{
			name: "no frameworks, no offers",
			setup: func(a *Allocator) {
				a.AddAgent("a1", res(t, "cpus:4;mem:1024"), nil)
			},
		},
		{
			name: "offered resources are not offered again",
			setup: func(a *Allocator) {
				a.AddAgent("a1", res(t, "cpus:4;mem:1024"), nil)
				a.AddFramework("f1", roles("web"))
				a.Allocate(t0)
			},
		},
		{
			name: "recovered resources are offered again",
			setup: func(a *Allocator) {
				a.AddAgent("a1", res(t, "cpus:4;mem:1024"), nil)
				a.AddFramework("f1", roles("web"))
				recoverAll(a, a.Allocate(t0), 0, t0)
			},
			want: "f1 a1 web cpus:4;mem:1024",
		},
		{
			name: "what a task keeps is not offered",
			setup: func(a *Allocator) {
				a.AddAgent("a1", res(t, "cpus:4;mem:1024;ports:[31000-31009]"), nil)
				a.AddFramework("f1", roles("web"))
				for _, o := range a.Allocate(t0) {
					unused := o.Resources.Minus(res(t, "cpus:1;mem:256;ports:[31000-31001]"))
					a.Recover(o.Framework, o.Agent, o.Role, unused, 0, t0)
				}
			},
			want: "f1 a1 web cpus:3;mem:768;ports:[31002-31009]",
		},
		{
			name: "an inactive agent is not offered",
			setup: func(a *Allocator) {
				a.AddAgent("a1", res(t, "cpus:4;mem:1024"), nil)
				a.AddAgent("a2", res(t, "cpus:2;mem:512"), nil)
				a.DeactivateAgent("a1")
				a.AddFramework("f1", roles("web"))
			},
			want: "f1 a2 web cpus:2;mem:512",
		},
		{
			name: "a reactivated agent is offered",
			setup: func(a *Allocator) {
				a.AddAgent("a1", res(t, "cpus:4;mem:1024"), nil)
				a.DeactivateAgent("a1")
				a.ActivateAgent("a1")
				a.AddFramework("f1", roles("web"))
			},
			want: "f1 a1 web cpus:4;mem:1024",
		},
		{
			name: "an inactive framework gets nothing",
			setup: func(a *Allocator) {
				a.AddAgent("a1", res(t, "cpus:4;mem:1024"), nil)
				a.AddFramework("f1", roles("web"))
				a.AddFramework("f2", roles("web"))
				a.DeactivateFramework("f1")
			},
			want: "f2 a1 web cpus:4;mem:1024",
		},
		{
			name: "an updated agent offers its new total",
			setup: func(a *Allocator) {
				a.AddAgent("a1", res(t, "cpus:4;mem:1024"), nil)
				a.UpdateAgent("a1", res(t, "cpus:8;mem:2048;gpus:0"))
				a.AddFramework("f1", roles("web"))
			},
			want: "f1 a1 web cpus:8;mem:2048",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := New(DefaultConfig())
			tt.setup(a)
			offers := a.Allocate(t0.Add(time.Second))
			checkUnallocated(t, offers)
			if got := describe(offers); got != tt.want {
				t.Errorf("offers:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

func TestAllocateAgents(t *testing.T) {
	a := New(DefaultConfig())
	a.AddAgent("a1", res(t, "cpus:1;mem:64"), nil)
	a.AddAgent("a2", res(t, "cpus:2;mem:64"), nil)
	a.AddAgent("a3", res(t, "cpus:3;mem:64"), nil)
	a.AddFramework("f1", roles("r"))
	got := describe(a.AllocateAgents(t0, "a2", "nope", "a2", "a3"))
	if want := "f1 a2 r cpus:2;mem:64\nf1 a3 r cpus:3;mem:64"; got != want {
		t.Errorf("offers:\n%s\nwant:\n%s", got, want)
	}
	if got := a.AllocateAgents(t0); got != nil {
		t.Errorf("a pass over no agents offered:\n%s", describe(got))
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{name: "default", cfg: DefaultConfig()},
		{name: "zero", cfg: Config{}},
		{
			name:    "invalid minimum",
			cfg:     Config{MinAllocatable: []api.Resources{{api.ScalarResource("cpus", -1)}}},
			wantErr: "MinAllocatable[0]",
		},
		{name: "empty excluded name", cfg: Config{FairnessExcluded: []string{"gpus", ""}}, wantErr: "FairnessExcluded[1]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Validate() = %v, want an error naming %s", err, tt.wantErr)
			}
		})
	}
}

func TestFairnessExcluded(t *testing.T) {
	for _, excluded := range []bool{false, true} {
		cfg := DefaultConfig()
		if excluded {
			cfg.FairnessExcluded = []string{"gpus"}
		}
		a := New(cfg)
		a.AddAgent("a1", res(t, "cpus:10;mem:1000;gpus:1"), nil)
		a.AddFramework("f1", FrameworkOptions{Roles: []string{"r"}, GPU: true})
		a.Allocated("f1", "a1", "r", res(t, "cpus:1;mem:100;gpus:1"))
		want := map[bool]float64{false: 1, true: 0.1}[excluded]
		if got := a.Share("f1"); got != want {
			t.Errorf("excluded=%v: share %v, want %v", excluded, got, want)
		}
	}
}

func TestIndivisibleDisksUnderLimit(t *testing.T) {
	mount := api.ScalarResource("disk", 1000)
	mount.Disk = &api.DiskInfo{Source: &api.DiskSource{Type: "MOUNT", Mount: &api.DiskPath{Root: "/mnt/a"}}}
	a := New(DefaultConfig())
	a.SetQuota("r", nil, res(t, "disk:500"))
	a.AddAgent("a1", append(res(t, "cpus:1;mem:64;disk:800"), mount), nil)
	a.AddFramework("f1", roles("r"))
	offers := a.Allocate(t0)
	if len(offers) != 1 {
		t.Fatalf("%d offers, want 1", len(offers))
	}
	for _, r := range offers[0].Resources {
		if r.Disk != nil {
			t.Errorf("offered part of an indivisible disk under a limit: %s", r)
		}
	}
	if got := offers[0].Resources.ScalarValue("disk"); got != 500 {
		t.Errorf("offered %v disk, want the 500 the limit allows", got)
	}
}

func TestUpdateAgentBelowAllocation(t *testing.T) {
	a := New(DefaultConfig())
	a.AddAgent("a1", res(t, "cpus:8;mem:1024;ports:[1-10]"), nil)
	a.AddFramework("f1", roles("r"))
	o := a.Allocate(t0)[0]
	a.UpdateAgent("a1", res(t, "cpus:4;mem:2048;ports:[5-20]"))
	if got, want := describe(a.Allocate(t0)), "f1 a1 r mem:1024;ports:[11-20]"; got != want {
		t.Fatalf("offers:\n%s\nwant:\n%s", got, want)
	}
	a.Recover("f1", "a1", "r", o.Resources, 0, t0)
	if got, want := describe(a.Allocate(t0)), "f1 a1 r cpus:4;mem:1024;ports:[5-10]"; got != want {
		t.Errorf("after recovery, offers:\n%s\nwant:\n%s", got, want)
	}
	if err := a.audit(); err != nil {
		t.Error(err)
	}
}

func TestRecoverMoreThanHeld(t *testing.T) {
	a := New(DefaultConfig())
	a.AddAgent("a1", res(t, "cpus:4;mem:1024"), nil)
	a.AddFramework("f1", roles("r"))
	a.AddFramework("f2", roles("r"))
	o := a.Allocate(t0)[0]
	other := map[string]string{"f1": "f2", "f2": "f1"}[o.Framework]
	a.Recover(other, "a1", "r", o.Resources, 0, t0) // not its offer: ignored
	a.Recover(o.Framework, "a1", "r", res(t, "cpus:100;mem:100000;disk:5"), 0, t0)
	if err := a.audit(); err != nil {
		t.Fatal(err)
	}
	if got := a.Allocate(t0); len(got) != 1 || !got[0].Resources.Unallocated().Equal(res(t, "cpus:4;mem:1024")) {
		t.Errorf("offers:\n%s\nwant the whole agent once", describe(got))
	}
}
