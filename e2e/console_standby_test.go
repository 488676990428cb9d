package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

// TestConsoleOnStandby drives the console of a standby of three real
// masters with a real agent, as a person who reached a standby would:
// the sandbox of a finished task is browsed, and an agent's page shows
// its usage, through the agent as on the leader; uploading or deleting
// a module is refused at once naming the leader, and a refused upload
// leaves the standby's module list as it was. The standby used to answer
// the file browser 404 "Agent cannot be found" (its memory holds no
// agents), and to store a refused upload in its own store, listing it as
// uploaded though the registry never recorded it.
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

	_, page := get("/modules")
	m := regexp.MustCompile(`<meta name="mezzo-csrf" content="([^"]+)">`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token on the standby's Modules page:\n%s", page)
	}
	post := func(path, contentType string, body io.Reader) (int, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, base+path, body)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("Accept", "application/json")
		req.Header.Set("X-Mezzo-CSRF", m[1])
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("POST %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	wantRefusal := "the leader is " + leader.addr
	changes := []struct {
		name string
		path string
		body string
	}{
		{"upload", "/modules", "\x00asm\x01\x00\x00\x00"},
		{"delete", "/modules/" + sha + "/delete", ""},
	}
	for _, ch := range changes {
		start := time.Now()
		code, body := post(ch.path, "application/wasm", strings.NewReader(ch.body))
		if code != http.StatusServiceUnavailable || !strings.Contains(body, wantRefusal) || time.Since(start) > 5*time.Second {
			t.Errorf("%s on the standby's console: %d after %v, want 503 at once saying %q:\n%s", ch.name, code, time.Since(start), wantRefusal, body)
		}
	}
	resp, err := http.Get(base + "/api/v1/modules")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct{ Modules []struct{ SHA256 string } }
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil || len(list.Modules) != 1 || list.Modules[0].SHA256 != sha {
		t.Errorf("standby's modules after refused changes: %+v %v, want only %s", list, err, sha)
	}
}
