package e2e

import (
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

// TestMarkedGoneAgentStops drains an agent with --mark-gone: the master
// tells it to shut down, as Mesos's master does an agent marked gone, and
// the `mezzo agent` process stops with an error saying why, rather than
// subscribe again and again to a master that refuses it.
func TestMarkedGoneAgentStops(t *testing.T) {
	c := startMaster(t, t.TempDir())
	ag := startAgentOn(t, c.addr, t.TempDir(), 0)
	var id string
	waitFor(t, func() bool {
		agents := c.operator(t, api.OperatorGetAgents).GetAgents.Agents
		if len(agents) == 1 && agents[0].Active {
			id = agents[0].AgentInfo.ID.Value
		}
		return id != ""
	}, "the agent to register")
	if out, errOut, code := c.mezzo(t, "drain", id, "--mark-gone"); code != 0 {
		t.Fatalf("mezzo drain --mark-gone: exit %d %s %s", code, out, errOut)
	}
	exited := make(chan error, 1)
	go func() { exited <- ag.cmd.Wait() }()
	select {
	case err := <-exited:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() == 0 {
			t.Fatalf("the agent exited with %v, want an error exit", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("the agent marked gone still runs; its log:\n%s", ag.logs.String())
	}
	if logs := ag.logs.String(); !strings.Contains(logs, "the master told this agent to shut down (Agent has been marked gone)") {
		t.Errorf("the agent's log does not say why it stopped:\n%s", logs)
	}
}
