package scheduler_test

import (
	"slices"
	"testing"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/sdk/scheduler"
)

// offered returns resources as a MULTI_ROLE framework in role receives
// them: parsed, in the pre-refinement form, allocated to role.
func offered(t *testing.T, s, role string) api.Resources {
	t.Helper()
	return mustParse(t, s).Allocate(role)
}

func TestTake(t *testing.T) {
	tests := []struct {
		name    string
		offered string
		need    string
		want    string // "" when need does not fit
	}{
		{name: "unreserved", offered: "cpus:2;mem:1024", need: "cpus:1;mem:128", want: "cpus:1;mem:128"},
		{name: "exactly all", offered: "cpus:2;mem:1024", need: "cpus:2;mem:1024", want: "cpus:2;mem:1024"},
		{name: "too much", offered: "cpus:2;mem:1024", need: "cpus:2.001"},
		{name: "missing resource", offered: "cpus:2", need: "cpus:1;gpus:1"},
		{name: "reserved used first", offered: "cpus(web):1;cpus:4", need: "cpus:0.5", want: "cpus(web):0.5"},
		{name: "split across reservations", offered: "cpus(web):1;cpus:4", need: "cpus:2", want: "cpus(web):1;cpus:1"},
		{name: "reserved need wants its reservation", offered: "cpus:4;cpus(web):1", need: "cpus(web):2"},
		{name: "reserved need met", offered: "cpus:4;cpus(web):2", need: "cpus(web):2", want: "cpus(web):2"},
		{name: "ports", offered: "ports:[31000-31010]", need: "ports:[31002-31003]", want: "ports:[31002-31003]"},
		{name: "ports across reservations", offered: "ports(web):[31000-31001];ports:[31002-31005]",
			need: "ports:[31001-31002]", want: "ports(web):[31001-31001];ports:[31002-31002]"},
		{name: "port not offered", offered: "ports:[31000-31010]", need: "ports:[80-80]"},
		{name: "set items", offered: "gpus:{a,b,c}", need: "gpus:{b}", want: "gpus:{b}"},
		// A need's reserved resources are met before its plain ones,
		// whichever comes first in it.
		{name: "plain then reserved", offered: "cpus(web):1;cpus:1", need: "cpus:1;cpus(web):1", want: "cpus(web):1;cpus:1"},
		{name: "reserved then plain", offered: "cpus(web):1;cpus:1", need: "cpus(web):1;cpus:1", want: "cpus(web):1;cpus:1"},
		{name: "plain split after reserved", offered: "cpus(web):2;cpus:2", need: "cpus:3;cpus(web):1", want: "cpus(web):2;cpus:2"},
		{name: "plain too much after reserved", offered: "cpus(web):2;cpus:2", need: "cpus:3.5;cpus(web):1"},
		{name: "plain disk then reserved disk", offered: "disk(web):100;disk:100", need: "disk:100;disk(web):100", want: "disk(web):100;disk:100"},
		{name: "plain ports then reserved ports", offered: "ports(web):[31000-31000];ports:[31001-31001]",
			need: "ports:[31001-31001];ports(web):[31000-31000]", want: "ports(web):[31000-31000];ports:[31001-31001]"},
		{name: "one port twice", offered: "ports(web):[31000-31000];ports:[31001-31001]", need: "ports:[31000-31000];ports(web):[31000-31000]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := scheduler.Take(offered(t, tt.offered, "web"), mustParse(t, tt.need))
			if tt.want == "" {
				if ok {
					t.Fatalf("Take = %s, want no fit", got)
				}
				return
			}
			if !ok {
				t.Fatal("Take: no fit")
			}
			if want := mustParse(t, tt.want).Allocate("web"); !got.Equal(want) {
				t.Fatalf("Take = %s, want %s", got, want)
			}
			for _, r := range got {
				if r.AllocationInfo == nil || r.AllocationInfo.Role != "web" {
					t.Fatalf("taken %s lacks the offer's allocation", api.Resources{r})
				}
			}
		})
	}
}

func TestFitsIgnoresAllocationOfNeed(t *testing.T) {
	o := api.Offer{Resources: offered(t, "cpus:2;mem:1024", "web")}
	if !scheduler.Fits(o, mustParse(t, "cpus:1").Allocate("other")) {
		t.Fatal("allocation info on the task's resources made it not fit")
	}
	unallocated := api.Offer{Resources: mustParse(t, "cpus:2;mem:1024")}
	if !scheduler.Fits(unallocated, mustParse(t, "cpus:1;mem:1024")) {
		t.Fatal("does not fit an offer without allocation info")
	}
	if scheduler.Fits(o, api.Resources{{Name: "cpus", Type: api.SCALAR}}) {
		t.Fatal("an invalid resource fits")
	}
}

func TestPorts(t *testing.T) {
	res := mustParse(t, "ports:[31000-31001,31010-31020];cpus:1")
	tests := []struct {
		name string
		n    int
		want []uint64
		ok   bool
	}{
		{name: "none", n: 0, want: nil, ok: true},
		{name: "lowest first", n: 3, want: []uint64{31000, 31001, 31010}, ok: true},
		{name: "all", n: 13, want: append([]uint64{31000, 31001}, seq(31010, 31020)...), ok: true},
		{name: "too many", n: 14, ok: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := scheduler.Ports(res, tt.n)
			if ok != tt.ok || !slices.Equal(got, tt.want) {
				t.Fatalf("Ports(%d) = %v, %v; want %v, %v", tt.n, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func seq(from, to uint64) []uint64 {
	var out []uint64
	for p := from; p <= to; p++ {
		out = append(out, p)
	}
	return out
}

func TestPortsResource(t *testing.T) {
	got := api.Resources{scheduler.PortsResource(31005, 31000, 31001, 31001, 31003)}
	if want := mustParse(t, "ports:[31000-31001,31003-31003,31005-31005]"); !got.Equal(want) {
		t.Fatalf("PortsResource = %s, want %s", got, want)
	}
}

func TestPack(t *testing.T) {
	o := api.Offer{AgentID: api.AgentID{Value: "S1"}, Resources: offered(t, "cpus(web):1;cpus:1;mem:1024;ports:[31000-31001]", "web")}
	task := func(id, res string) api.TaskInfo {
		return scheduler.CommandTask(id, "", "", "true", mustParse(t, res))
	}
	queue := []api.TaskInfo{
		task("a", "cpus:1.5;mem:256;ports:[31000-31000]"),
		task("b", "cpus:0.5;mem:256;ports:[31001-31001]"),
		task("c", "cpus:0.5;mem:256"), // no cpus left
		task("d", "cpus:0.1"),         // would fit, but the queue stops at c
	}
	launch, rest := scheduler.Pack(o, queue)
	if len(launch) != 2 || len(rest) != 2 || rest[0].TaskID.Value != "c" {
		t.Fatalf("Pack: launch %d, rest %d starting %s; want 2, 2 starting c", len(launch), len(rest), rest[0].TaskID.Value)
	}
	if want := mustParse(t, "cpus(web):1;cpus:0.5;mem:256;ports:[31000-31000]").Allocate("web"); !api.Resources(launch[0].Resources).Equal(want) {
		t.Fatalf("task a takes %s, want %s", api.Resources(launch[0].Resources), want)
	}
	for _, ti := range launch {
		if ti.AgentID.Value != "S1" {
			t.Fatalf("task %s on agent %q, want S1", ti.TaskID.Value, ti.AgentID.Value)
		}
		if err := api.ValidateTaskInfo(&ti); err != nil {
			t.Fatal(err)
		}
	}
	if queue[0].AgentID.Value != "" {
		t.Fatal("Pack modified the queue")
	}
}

func TestTaskBuilders(t *testing.T) {
	res := mustParse(t, "cpus:0.5;mem:64")
	sha := "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	w := scheduler.WasmTask("w1", "", "S1", sha, []string{"-n", "3"}, res)
	if err := api.ValidateTaskInfo(&w); err != nil {
		t.Fatalf("WasmTask: %v", err)
	}
	if !w.IsWasm() || w.Name != "w1" || w.Container.Wasm.SHA256 != sha || !slices.Equal(w.Container.Wasm.Arguments, []string{"-n", "3"}) {
		t.Fatalf("WasmTask = %+v", w)
	}
	c := scheduler.CommandTask("c1", "cmd", "S1", "echo hi", res)
	if err := api.ValidateTaskInfo(&c); err != nil {
		t.Fatalf("CommandTask: %v", err)
	}
	if c.Name != "cmd" || c.Command.Value != "echo hi" || !c.Command.IsShell() {
		t.Fatalf("CommandTask = %+v", c)
	}
}
