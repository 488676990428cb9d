package allocator

import (
	"testing"
	"time"
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
					unused := o.Resources.Minus(res(t, "cpus:1;mem:256;ports:[31000-31001]").Allocate("web"))
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
			checkAllocationInfo(t, offers)
			if got := describe(offers); got != tt.want {
				t.Errorf("offers:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}
