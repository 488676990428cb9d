package master

import (
	"strings"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

func TestConfigValidate(t *testing.T) {
	valid := DefaultConfig()
	valid.WorkDir = "/tmp/x"
	tests := []struct {
		name    string
		change  func(*Config)
		wantErr string // "" for a valid config
	}{
		{name: "default", change: func(*Config) {}},
		{name: "no work dir", change: func(c *Config) { c.WorkDir = "" }, wantErr: "WorkDir"},
		{name: "negative offer timeout", change: func(c *Config) { c.OfferTimeout = -time.Second }, wantErr: "OfferTimeout"},
		{name: "negative batching window", change: func(c *Config) { c.AllocationBatch = -1 }, wantErr: "AllocationBatch"},
		{name: "no periodic pass", change: func(c *Config) { c.AllocationInterval = 0 }, wantErr: "AllocationInterval"},
		{name: "no minimum allocatable", change: func(c *Config) { c.MinAllocatable = nil }},
		{name: "empty minimum allocatable alternative", change: func(c *Config) { c.MinAllocatable = []api.Resources{{}} },
			wantErr: "MinAllocatable[0] is empty"},
		{name: "invalid minimum allocatable", change: func(c *Config) {
			c.MinAllocatable = []api.Resources{{api.ScalarResource("cpus", -1)}}
		}, wantErr: "MinAllocatable[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid
			tt.change(&c)
			err := c.Validate()
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("Validate() = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
	if d := DefaultConfig().AllocationBatch; d <= 0 || d > 10*time.Millisecond {
		t.Errorf("default batching window %v, want a positive one of at most 10 ms", d)
	}
}

// TestMinAllocatableOverHTTP sets the master's minimum allocatable
// resources above what one agent has: it is not offered (and the
// framework's diagnostics say why) until an agent large enough comes.
func TestMinAllocatableOverHTTP(t *testing.T) {
	tm := startMaster(t, func(c *Config) { c.MinAllocatable = []api.Resources{{api.ScalarResource("cpus", 2)}} })
	small := tm.agent(t, "cpus:1;mem:4096")
	fw := tm.subscribe(t, api.FrameworkInfo{User: "u", Name: "f"})
	tm.allocatePass(time.Now(), true)
	_, r, _ := tm.operator(t, api.OperatorCall{Type: api.OperatorGetFrameworks})
	if diag := strings.Join(r.GetFrameworks.Frameworks[0].Diagnostics, "\n"); !strings.Contains(diag, "less free than the minimum allocatable (cpus:2)") {
		t.Fatalf("diagnostics %q do not name the minimum", diag)
	}
	_, r, _ = tm.operator(t, api.OperatorCall{Type: api.OperatorGetFlags})
	found := false
	for _, f := range r.GetFlags.Flags {
		found = found || (f.Name == "min_allocatable_resources" && f.Value == "cpus:2")
	}
	if !found {
		t.Errorf("GET_FLAGS %+v lacks min_allocatable_resources cpus:2", r.GetFlags.Flags)
	}
	tm.agent(t, "cpus:2;mem:64")
	if o := fw.offer(); o.AgentID.Value == small.id {
		t.Fatalf("the agent below the minimum was offered: %+v", o)
	}
}

// TestEventDrivenAllocation turns the periodic pass off (an interval of
// an hour), so that every offer below comes from a pass an event
// triggered: a framework subscribing, a decline without a filter, the
// unused part of an accept, a task ending, a REVIVE.
func TestEventDrivenAllocation(t *testing.T) {
	tm := startMaster(t, func(c *Config) { c.AllocationInterval = time.Hour })
	ag := tm.agent(t, "cpus:2;mem:1024")
	fw := tm.subscribe(t, api.FrameworkInfo{User: "u", Name: "f"})
	noFilter := &api.Filters{RefuseSeconds: api.Ptr(api.Float64(0))}
	o := fw.offer() // the subscription
	fw.mustCall(api.Call{Type: api.CallDecline, Decline: &api.Decline{OfferIDs: []api.OfferID{o.ID}, Filters: noFilter}})
	o = fw.offer() // the decline
	call := launch(o, commandTask("t", o, 1, 128))
	call.Accept.Filters = noFilter
	fw.mustCall(call)
	rest := fw.offer() // what the task leaves
	if got := api.Resources(rest.Resources).ScalarValue("cpus"); got != 1 {
		t.Fatalf("after the launch, offered %v cpus, want the 1 left", got)
	}
	ag.send(fw.id, "t", api.TaskFinished, 1)
	st := fw.update("t")
	fw.mustCall(api.Call{Type: api.CallAcknowledge, Acknowledge: &api.Acknowledge{AgentID: api.AgentID{Value: ag.id}, TaskID: st.TaskID, UUID: st.UUID}})
	if got := api.Resources(fw.offer().Resources).ScalarValue("cpus"); got != 1 { // the task's end
		t.Fatalf("after the task ended, offered %v cpus, want its 1", got)
	}
	fw.mustCall(api.Call{Type: api.CallDecline, Decline: &api.Decline{OfferIDs: []api.OfferID{rest.ID},
		Filters: &api.Filters{RefuseSeconds: api.Ptr(api.Float64(3600))}}})
	fw.mustCall(api.Call{Type: api.CallRevive, Revive: &api.Revive{}})
	fw.offer() // the REVIVE, which cleared the hour-long filter
}
