package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

// TestStandbysServeViews checks that standbys answer the read-only views
// from their replicas, marked as such, while writes still go to the
// leader: after an agent registers, a weight is set, a module is uploaded
// and a Wasm task runs to completion, every standby lists them; with the
// leader and one standby killed, the last master still serves them with
// no leader known.
func TestStandbysServeViews(t *testing.T) {
	c := startReplicated(t, 3)
	leader := c.waitLeader(t)
	masters := strings.Join(c.addrs(), ",")
	startAgent(t, masters, t.TempDir(), "--resources", "cpus:2;mem:1024;disk:1024")
	sha := pushModule(t, leader.addr, buildModule(t, "./samples/modules/hello"))
	if code, _, body, err := opCall(leader.addr, `{"type":"UPDATE_WEIGHTS","update_weights":{"weight_infos":[{"role":"web","weight":3}]}}`); err != nil || code != http.StatusOK {
		t.Fatalf("UPDATE_WEIGHTS: %d %s %v", code, body, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, mezzoBin, "run", "--master", masters, "--name", "viewed", sha, "--", "world").CombinedOutput(); err != nil {
		t.Fatalf("mezzo run: %v\n%s", err, out)
	}
	var standbys []*masterProc
	for _, m := range c.masters {
		if m != leader {
			standbys = append(standbys, m)
		}
	}
	views := []struct {
		call string
		// holds reports whether the answer shows what the leader did.
		holds func(r *api.OperatorResponse) bool
	}{
		{`{"type":"GET_AGENTS"}`, func(r *api.OperatorResponse) bool {
			return r.GetAgents != nil && len(r.GetAgents.Agents) == 1 && r.GetAgents.Agents[0].Active
		}},
		{`{"type":"GET_TASKS"}`, func(r *api.OperatorResponse) bool {
			return r.GetTasks != nil && len(r.GetTasks.CompletedTasks) == 1 &&
				r.GetTasks.CompletedTasks[0].Name == "viewed" && r.GetTasks.CompletedTasks[0].State == api.TaskFinished
		}},
		{`{"type":"GET_FRAMEWORKS"}`, func(r *api.OperatorResponse) bool {
			return r.GetFrameworks != nil && len(r.GetFrameworks.CompletedFrameworks) == 1
		}},
		{`{"type":"GET_STATE"}`, func(r *api.OperatorResponse) bool {
			return r.GetState != nil && r.GetState.GetAgents != nil && len(r.GetState.GetAgents.Agents) == 1 &&
				r.GetState.GetTasks != nil && len(r.GetState.GetTasks.CompletedTasks) == 1
		}},
		{`{"type":"GET_WEIGHTS"}`, func(r *api.OperatorResponse) bool {
			return r.GetWeights != nil && strings.Contains(mustJSON(t, r.GetWeights), `"web"`)
		}},
	}
	check := func(m *masterProc, wantLeader string) {
		t.Helper()
		for _, v := range views {
			waitFor(t, func() bool {
				code, header, body, err := opCallHeader(m.addr, v.call)
				var r api.OperatorResponse
				return err == nil && code == http.StatusOK && header.Get(api.HeaderView) == api.ViewReplica &&
					header.Get(api.HeaderLeader) == wantLeader && header.Get(api.HeaderAppliedIndex) != "" &&
					json.Unmarshal(body, &r) == nil && v.holds(&r)
			}, "standby "+m.addr+" to serve "+v.call+" from its replica")
		}
		resp, err := http.Get("http://" + m.addr + "/api/v1/modules")
		if err != nil {
			t.Fatal(err)
		}
		var list struct{ Modules []struct{ SHA256 string } }
		err = json.NewDecoder(resp.Body).Decode(&list)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || resp.Header.Get(api.HeaderView) != api.ViewReplica ||
			len(list.Modules) != 1 || list.Modules[0].SHA256 != sha {
			t.Errorf("standby %s module list: %s %+v %v, want %s marked %s", m.addr, resp.Status, list, err, sha, api.ViewReplica)
		}
	}
	for _, m := range standbys {
		check(m, leader.addr)
		if code, loc, _, err := opCall(m.addr, leaderOnlyCall); err != nil || code != http.StatusTemporaryRedirect || loc != "//"+leader.addr+"/api/v1" {
			t.Errorf("standby %s answered a write with %d %q %v, want 307 to the leader", m.addr, code, loc, err)
		}
	}
	// The leader's own answers are not marked.
	if code, header, body, err := opCallHeader(leader.addr, `{"type":"GET_TASKS"}`); err != nil || code != http.StatusOK || header.Get(api.HeaderView) != "" {
		t.Errorf("leader GET_TASKS: %d %s %v, headers %v", code, body, err, header)
	}
	c.kill(leader, syscall.SIGKILL)
	c.kill(standbys[0], syscall.SIGKILL)
	check(standbys[1], "")
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
