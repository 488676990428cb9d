package e2e

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

// TestConsoleOnStandby drives the console of a standby of three real
// masters with a real agent, as a person who reached a standby would:
// the sandbox of a finished task is browsed, and an agent's page shows
// its usage, through the agent as on the leader. The standby used to
// answer the file browser 404 "Agent cannot be found", and say the same
// in place of an agent's usage: its memory holds no agents.
func TestConsoleOnStandby(t *testing.T) {
	c := startReplicated(t, 3)
	leader := c.waitLeader(t)
	masters := strings.Join(c.addrs(), ",")
	startAgent(t, masters, t.TempDir(), "--resources", "cpus:2;mem:1024;disk:1024")
	sha := pushModule(t, leader.addr, buildModule(t, "./samples/modules/hello"))
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, mezzoBin, "run", "--master", masters, "--name", "browsed", sha, "--", "world").CombinedOutput(); err != nil {
		t.Fatalf("mezzo run: %v\n%s", err, out)
	}
	var standby *masterProc
	for _, m := range c.masters {
		if m != leader {
			standby = m
			break
		}
	}
	var task api.Task
	waitFor(t, func() bool {
		tasks := opTasks(standby.addr)
		if tasks == nil || len(tasks.CompletedTasks) != 1 {
			return false
		}
		task = tasks.CompletedTasks[0]
		return true
	}, "the standby's replica to hold the finished task")

	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	base := "http://" + standby.addr
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := client.Get(base + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	taskPath := "/tasks/" + url.PathEscape(task.FrameworkID.Value) + "/" + url.PathEscape(task.TaskID.Value)
	views := []struct {
		path string
		want string
	}{
		{taskPath + "/files", "stdout"},
		{taskPath + "/files?path=stdout", "world"},
		{"/agents/" + url.PathEscape(task.AgentID.Value), `id="standby"`},
	}
	for _, v := range views {
		code, body := get(v.path)
		if code != http.StatusOK || !strings.Contains(body, v.want) || strings.Contains(body, "cannot be found") {
			t.Errorf("standby's console GET %s: %d, want 200 showing %q, not \"cannot be found\":\n%s", v.path, code, v.want, body)
		}
	}
}
