package e2e

import (
	"strconv"
	"strings"
	"testing"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/sdk/scheduler"
)

// TestNativeTasksUnderRlimits runs an agent with --native-isolation=rlimits,
// the fallback of machines without cgroups, forced here where there may
// be cgroups: its executor starts native tasks through the mezzo binary's
// rlimit init. A task that grows past its 128 MiB of mem fails with
// REASON_CONTAINER_LIMITATION_MEMORY and a message that names the
// rlimit, its peak memory about the cap; a task within it finishes.
func TestNativeTasksUnderRlimits(t *testing.T) {
	c := startMaster(t, t.TempDir())
	agent := startAgentOn(t, c.addr, t.TempDir(), freePort(t), "--native-isolation", "rlimits")
	waitFor(t, func() bool { return len(c.agentIDs(t)) == 1 }, "the agent to register")
	res := api.NewResources(api.ScalarResource("cpus", 0.1), api.ScalarResource("mem", 128))
	f := startFramework(t, c.addr, func(agent string) []api.TaskInfo {
		return []api.TaskInfo{
			scheduler.CommandTask("hog", "hog", agent, "exec tail /dev/zero", res), // tail keeps the unending line
			scheduler.CommandTask("fine", "fine", agent, "head -c 64m /dev/zero | tail -c 1 >/dev/null", res),
		}
	})
	tests := []struct {
		id     string
		state  api.TaskState
		reason api.StatusReason
		msg    []string
	}{
		{"hog", api.TaskFailed, api.ReasonContainerLimitationMemory, []string{"Memory limit exceeded", "128 MiB", "RLIMIT_DATA"}},
		{"fine", api.TaskFinished, "", []string{"Command exited with status 0"}},
	}
	for _, tt := range tests {
		waitFor(t, func() bool { return f.last(tt.id).State.IsTerminal() }, tt.id+" to end")
		st := f.last(tt.id)
		if st.State != tt.state || st.Reason != tt.reason {
			t.Errorf("%s ended %s %s (%s), want %s %s; agent logs:\n%s", tt.id, st.State, st.Reason, st.Message, tt.state, tt.reason, agent.logs)
		}
		for _, m := range tt.msg {
			if !strings.Contains(st.Message, m) {
				t.Errorf("%s: message %q does not contain %q", tt.id, st.Message, m)
			}
		}
		if tt.id == "hog" && st.Labels != nil {
			peak := ""
			for _, l := range st.Labels.Labels {
				if l.Key == api.PeakMemoryLabel {
					peak = l.Value
				}
			}
			if n, err := strconv.ParseUint(peak, 10, 64); err != nil || n < 120<<20 {
				t.Errorf("hog's peak memory label %q, want about its 128 MiB cap", peak)
			}
		}
	}
}
