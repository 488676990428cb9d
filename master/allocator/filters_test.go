package allocator

import (
	"testing"
	"time"
)

func TestFilters(t *testing.T) {
	const day = 24 * time.Hour
	tests := []struct {
		name   string
		refuse time.Duration
		after  func(a *Allocator) // between the decline and the next pass
		at     time.Duration      // time of the next pass after the decline
		want   string
	}{
		{name: "filter blocks re-offering", refuse: 10 * time.Second, at: 5 * time.Second},
		{name: "filter blocks until just before it expires", refuse: 10 * time.Second, at: 10*time.Second - 1},
		{
			name: "filter expires", refuse: 10 * time.Second, at: 10 * time.Second,
			want: "f1 a1 r cpus:8;mem:4096",
		},
		{
			name: "refuse zero installs no filter", refuse: 0, at: 0,
			want: "f1 a1 r cpus:8;mem:4096",
		},
		{
			name: "filter is capped at 365 days", refuse: 1000 * day, at: 365 * day,
			want: "f1 a1 r cpus:8;mem:4096",
		},
		{
			name: "filter holds for 364 days", refuse: 1000 * day, at: 364 * day,
		},
		{
			name: "revive clears filters", refuse: time.Hour, at: time.Second,
			after: func(a *Allocator) { a.Revive("f1") },
			want:  "f1 a1 r cpus:8;mem:4096",
		},
		{
			name: "revive of another role keeps filters", refuse: time.Hour, at: time.Second,
			after: func(a *Allocator) { a.Revive("f1", "other") },
		},
		{
			name: "a filter in one role does not filter another", refuse: time.Hour, at: time.Second,
			after: func(a *Allocator) { a.UpdateFramework("f1", roles("r", "s")) },
			want:  "f1 a1 s cpus:8;mem:4096",
		},
		{
			name: "leaving a role drops its filters", refuse: time.Hour, at: time.Second,
			after: func(a *Allocator) {
				a.UpdateFramework("f1", roles("s"))
				a.UpdateFramework("f1", roles("r"))
			},
			want: "f1 a1 r cpus:8;mem:4096",
		},
		{
			name: "resources beyond what was refused pass the filter", refuse: time.Hour, at: time.Second,
			after: func(a *Allocator) { a.UpdateAgent("a1", res(t, "cpus:16;mem:4096")) },
			want:  "f1 a1 r cpus:16;mem:4096",
		},
		{
			name: "fewer resources than refused are filtered", refuse: time.Hour, at: time.Second,
			after: func(a *Allocator) { a.UpdateAgent("a1", res(t, "cpus:4;mem:4096")) },
		},
		{
			name: "other frameworks are not filtered", refuse: time.Hour, at: time.Second,
			after: func(a *Allocator) { a.AddFramework("f2", roles("r")) },
			want:  "f2 a1 r cpus:8;mem:4096",
		},
		{
			name: "other agents are not filtered", refuse: time.Hour, at: time.Second,
			after: func(a *Allocator) { a.AddAgent("a2", res(t, "cpus:1;mem:64"), nil) },
			want:  "f1 a2 r cpus:1;mem:64",
		},
		{
			name: "removing the agent drops its filters", refuse: time.Hour, at: time.Second,
			after: func(a *Allocator) {
				a.RemoveAgent("a1")
				a.AddAgent("a1", res(t, "cpus:8;mem:4096"), nil)
			},
			want: "f1 a1 r cpus:8;mem:4096",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := New(DefaultConfig())
			a.AddAgent("a1", res(t, "cpus:8;mem:4096"), nil)
			a.AddFramework("f1", roles("r"))
			offers := a.Allocate(t0)
			if len(offers) != 1 {
				t.Fatalf("first pass: %d offers, want 1", len(offers))
			}
			recoverAll(a, offers, tt.refuse, t0)
			if tt.after != nil {
				tt.after(a)
			}
			if got := describe(a.Allocate(t0.Add(tt.at))); got != tt.want {
				t.Errorf("offers:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

func TestFilterAfterTaskEnds(t *testing.T) {
	a := New(DefaultConfig())
	a.AddAgent("a1", res(t, "cpus:8;mem:4096"), nil)
	a.AddFramework("f1", roles("r"))
	o := a.Allocate(t0)[0]
	task := res(t, "cpus:4;mem:2048")
	a.Recover("f1", "a1", "r", o.Resources.Minus(task), time.Hour, t0) // ACCEPT with a filter
	if got := a.Allocate(t0.Add(time.Second)); len(got) != 0 {
		t.Fatalf("offered what was just refused:\n%s", describe(got))
	}
	a.Recover("f1", "a1", "r", task, 0, t0.Add(2*time.Second)) // the task ends
	if got, want := describe(a.Allocate(t0.Add(3*time.Second))), "f1 a1 r cpus:8;mem:4096"; got != want {
		t.Errorf("after the task ended, offers:\n%s\nwant:\n%s", got, want)
	}
}

func TestRedundantFiltersAreDropped(t *testing.T) {
	a := New(DefaultConfig())
	a.AddAgent("a1", res(t, "cpus:8;mem:4096"), nil)
	a.AddFramework("f1", roles("r"))
	o := a.Allocate(t0)[0]
	for i := range 10 {
		a.Recover("f1", "a1", "r", o.Resources, time.Hour, t0.Add(time.Duration(i)*time.Second))
		a.Allocated("f1", "a1", "r", o.Resources)
	}
	if got := len(a.filters); got != 1 {
		t.Errorf("%d filters after ten identical declines, want 1", got)
	}
	a.Recover("f1", "a1", "r", res(t, "cpus:1").Allocate("r"), 2*time.Hour, t0)
	if got := len(a.filters); got != 2 {
		t.Errorf("%d filters after a smaller, longer decline, want 2", got)
	}
}
