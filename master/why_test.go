package master

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

// TestWhyOverHTTP sets up each reason a framework's demand goes unmet and
// checks that GET_FRAMEWORKS explains it in the framework's diagnostics,
// the extension field `mezzo why` prints.
func TestWhyOverHTTP(t *testing.T) {
	multi := []api.FrameworkCapability{{Type: api.CapMultiRole}}
	tests := []struct {
		name  string
		setup func(t *testing.T, tm *testMaster) *testFramework
		want  string
	}{
		{"suppressed", func(t *testing.T, tm *testMaster) *testFramework {
			tm.agent(t, "cpus:1;mem:128")
			fw := tm.subscribe(t, api.FrameworkInfo{User: "u", Name: "f"})
			o := fw.offer()
			fw.mustCall(api.Call{Type: api.CallSuppress, Suppress: &api.Suppress{}})
			fw.mustCall(api.Call{Type: api.CallDecline, Decline: &api.Decline{OfferIDs: []api.OfferID{o.ID},
				Filters: &api.Filters{RefuseSeconds: api.Ptr(api.Float64(0))}}})
			return fw
		}, "role * is suppressed"},
		{"filtered", func(t *testing.T, tm *testMaster) *testFramework {
			tm.agent(t, "cpus:1;mem:128")
			fw := tm.subscribe(t, api.FrameworkInfo{User: "u", Name: "f"})
			o := fw.offer()
			fw.mustCall(api.Call{Type: api.CallDecline, Decline: &api.Decline{OfferIDs: []api.OfferID{o.ID},
				Filters: &api.Filters{RefuseSeconds: api.Ptr(api.Float64(3600))}}})
			return fw
		}, "skipped by refusal filters"},
		{"over quota", func(t *testing.T, tm *testMaster) *testFramework {
			tm.agent(t, "cpus:4;mem:1024")
			if code, _, body := tm.operator(t, api.OperatorCall{Type: api.OperatorUpdateQuota, UpdateQuota: &api.UpdateQuota{
				QuotaConfigs: []api.QuotaConfig{{Role: "web", Limits: map[string]api.Scalar{"cpus": {Value: 1}, "mem": {Value: 64}}}}}}); code != http.StatusOK {
				t.Fatalf("UPDATE_QUOTA: %d %s", code, body)
			}
			fw := tm.subscribe(t, api.FrameworkInfo{User: "u", Name: "f", Roles: []string{"web"}, Capabilities: multi})
			o := fw.offer()
			fw.mustCall(launch(o, commandTask("t", o, 1, 64)))
			return fw
		}, "at its quota limit"},
		{"offers cut by quota, declined", func(t *testing.T, tm *testMaster) *testFramework {
			tm.agent(t, "cpus:4;mem:1024")
			if code, _, body := tm.operator(t, api.OperatorCall{Type: api.OperatorUpdateQuota, UpdateQuota: &api.UpdateQuota{
				QuotaConfigs: []api.QuotaConfig{{Role: "web", Limits: map[string]api.Scalar{"cpus": {Value: 0.5}}}}}}); code != http.StatusOK {
				t.Fatalf("UPDATE_QUOTA: %d %s", code, body)
			}
			fw := tm.subscribe(t, api.FrameworkInfo{User: "u", Name: "f", Roles: []string{"web"}, Capabilities: multi})
			o := fw.offer()
			fw.mustCall(api.Call{Type: api.CallDecline, Decline: &api.Decline{OfferIDs: []api.OfferID{o.ID}}})
			return fw
		}, "it declined 1 offer since this master started: cpus:0.5;mem:1024 on agent"},
		{"agent draining", func(t *testing.T, tm *testMaster) *testFramework {
			ag := tm.agent(t, "cpus:1;mem:128")
			fw := tm.subscribe(t, api.FrameworkInfo{User: "u", Name: "f"})
			fw.offer()
			if code, _, body := tm.operator(t, api.OperatorCall{Type: api.OperatorDrainAgent,
				DrainAgent: &api.DrainAgent{AgentID: api.AgentID{Value: ag.id}}}); code != http.StatusOK {
				t.Fatalf("DRAIN_AGENT: %d %s", code, body)
			}
			return fw
		}, "1 agent is drained: it gets no offers until REACTIVATE_AGENT"},
		{"reserved for another role", func(t *testing.T, tm *testMaster) *testFramework {
			tm.agent(t, "cpus(ops):1;mem(ops):128")
			return tm.subscribe(t, api.FrameworkInfo{User: "u", Name: "f"})
		}, "only reserved for other roles"},
		{"role mismatch at launch", func(t *testing.T, tm *testMaster) *testFramework {
			tm.agent(t, "cpus:1;mem:128")
			fw := tm.subscribe(t, api.FrameworkInfo{User: "u", Name: "f", Roles: []string{"a", "b"}, Capabilities: multi})
			o := fw.offer()
			task := commandTask("t", o, 0.5, 64)
			other := "b"
			if o.AllocationInfo.Role == "b" {
				other = "a"
			}
			task.Resources = api.Resources(task.Resources).Allocate(other)
			fw.mustCall(launch(o, task))
			if st := fw.update("t"); st.State != api.TaskError || st.Reason != api.ReasonTaskInvalid || !strings.Contains(st.Message, "Role mismatch") {
				t.Fatalf("task allocated to another role than its offer: %+v, want TASK_ERROR naming the role mismatch", st)
			}
			return fw
		}, "Role mismatch"},
		{"lower shares first", func(t *testing.T, tm *testMaster) *testFramework {
			tm.agent(t, "cpus:1;mem:128")
			first := tm.subscribe(t, api.FrameworkInfo{User: "u", Name: "first"})
			first.offer()
			return tm.subscribe(t, api.FrameworkInfo{User: "u", Name: "second"})
		}, "no active agent with free resources"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tm := startMaster(t)
			fw := tt.setup(t, tm)
			tm.allocatePass(time.Now(), true)
			_, r, _ := tm.operator(t, api.OperatorCall{Type: api.OperatorGetFrameworks})
			for _, rec := range r.GetFrameworks.Frameworks {
				if rec.FrameworkInfo.ID.Value != fw.id {
					continue
				}
				if diag := strings.Join(rec.Diagnostics, "\n"); !strings.Contains(diag, tt.want) {
					t.Fatalf("diagnostics %q do not say %q", diag, tt.want)
				}
				return
			}
			t.Fatalf("framework %s not in GET_FRAMEWORKS", fw.id)
		})
	}
	t.Run("disconnected", func(t *testing.T) {
		tm := startMaster(t)
		fw := tm.subscribe(t, api.FrameworkInfo{User: "u", Name: "f", FailoverTimeout: 3600})
		fw.resp.Body.Close()
		waitUntil(t, "the framework to be disconnected", func() bool {
			tm.mu.Lock()
			defer tm.mu.Unlock()
			return !tm.frameworks[fw.id].connected()
		})
		_, r, _ := tm.operator(t, api.OperatorCall{Type: api.OperatorGetFrameworks})
		if diag := strings.Join(r.GetFrameworks.Frameworks[0].Diagnostics, "\n"); !strings.Contains(diag, "unless it subscribes again by") {
			t.Fatalf("diagnostics of a disconnected framework %q do not say when it is removed", diag)
		}
	})
	t.Run("completed", func(t *testing.T) {
		tm := startMaster(t)
		fw := tm.subscribe(t, api.FrameworkInfo{User: "u", Name: "f"})
		fw.mustCall(api.Call{Type: api.CallTeardown})
		_, r, _ := tm.operator(t, api.OperatorCall{Type: api.OperatorGetFrameworks})
		if c := r.GetFrameworks.CompletedFrameworks; len(c) != 1 || !strings.Contains(strings.Join(c[0].Diagnostics, "\n"), "completed") {
			t.Fatalf("completed frameworks %+v, want one whose diagnostics say it completed", c)
		}
	})
}
