package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

// pushModule uploads a module to one master and returns its sha256; the
// master must answer 200.
func pushModule(t *testing.T, addr, wasmPath string) string {
	t.Helper()
	data, err := os.ReadFile(wasmPath)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post("http://"+addr+"/api/v1/modules", "application/wasm", bytes.NewReader(data))
	if err != nil {
		t.Fatalf("upload to %s: %v", addr, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var m struct{ SHA256 string }
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &m) != nil || m.SHA256 == "" {
		t.Fatalf("upload to %s: %s %s", addr, resp.Status, body)
	}
	return m.SHA256
}

// TestModuleSurvivesLeaderDeath uploads a module to the leader of three
// replicated masters and SIGKILLs the leader at once: a Wasm task of that
// module, launched through the new leader, runs and prints its output. The
// upload's 200 means a majority of the masters hold the bytes, and a new
// leader lacking them fetches them from another master.
func TestModuleSurvivesLeaderDeath(t *testing.T) {
	tests := []struct {
		name string
		// standbyDown SIGKILLs a standby before the upload and starts it
		// again after the leader's death, so that the new majority
		// includes a master that never saw the upload.
		standbyDown bool
	}{
		{name: "all masters up"},
		{name: "a standby down during the upload", standbyDown: true},
	}
	wasm := buildModule(t, "./samples/modules/hello")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := startReplicated(t, 3)
			leader := c.waitLeader(t)
			masters := strings.Join(c.addrs(), ",")
			startAgent(t, masters, t.TempDir(), "--resources", "cpus:2;mem:1024;disk:1024")
			var down *masterProc
			if tt.standbyDown {
				for _, m := range c.masters {
					if m != leader {
						down = m
						break
					}
				}
				c.kill(down, syscall.SIGKILL)
			}
			sha := pushModule(t, leader.addr, wasm)
			c.kill(leader, syscall.SIGKILL)
			if down != nil {
				c.start(down)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			run := exec.CommandContext(ctx, mezzoBin, "run", "--master", masters, sha, "--", "world")
			var stdout, stderr bytes.Buffer
			run.Stdout, run.Stderr = &stdout, &stderr
			if err := run.Run(); err != nil || stdout.String() != "hello world\n" {
				t.Fatalf("mezzo run %s through the new leader: %v\nstdout: %q\nstderr: %s", sha, err, stdout.String(), stderr.String())
			}
		})
	}
}

// TestStandbysRemoveDeletedModules deletes a module from three real
// replicated masters: a standby redirects the DELETE to the leader, the
// CLI follows it, and every master removes its copy of the module — the
// standbys when the deletion reaches them, one that was down during the
// deletion when it is back. After the leader's death the new leader does
// not serve the module nor let it be deleted again (404), and a module
// uploaded afterwards reaches every master while the deleted one is not
// copied back; the other modules are untouched.
func TestStandbysRemoveDeletedModules(t *testing.T) {
	c := startReplicated(t, 3)
	leader := c.waitLeader(t)
	var standbys []*masterProc
	for _, m := range c.masters {
		if m != leader {
			standbys = append(standbys, m)
		}
	}
	up, down := standbys[0], standbys[1]
	noRedirect := &http.Client{Timeout: 5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	status := func(m *masterProc, method, sha string) (int, string) {
		req, err := http.NewRequest(method, "http://"+m.addr+"/api/v1/modules/"+sha, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := noRedirect.Do(req)
		if err != nil {
			return 0, ""
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Location")
	}
	file := func(m *masterProc, sha string) string { return filepath.Join(m.dir, "modules", sha+".wasm") }
	holds := func(m *masterProc, sha string) bool {
		_, err := os.Stat(file(m, sha))
		return err == nil
	}
	upload := func(m *masterProc, wasm []byte) string {
		resp, err := http.Post("http://"+m.addr+"/api/v1/modules", "application/wasm", bytes.NewReader(wasm))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var mod struct {
			SHA256 string `json:"sha256"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&mod); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("upload to %s: %s %v", m.addr, resp.Status, err)
		}
		for _, other := range c.masters {
			select {
			case <-other.done: // killed
			default:
				waitFor(t, func() bool { return holds(other, mod.SHA256) }, other.addr+" to hold module "+mod.SHA256)
			}
		}
		return mod.SHA256
	}
	// Three different valid modules: a type section with no, one or two
	// function types.
	module := func(types int) []byte {
		wasm := []byte{0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, byte(1 + 3*types), byte(types)}
		for range types {
			wasm = append(wasm, 0x60, 0x00, 0x00)
		}
		return wasm
	}
	deleted, kept := upload(leader, module(1)), upload(leader, module(2))

	c.kill(down, syscall.SIGKILL)
	if code, loc := status(up, http.MethodDelete, deleted); code != http.StatusTemporaryRedirect || loc != "//"+leader.addr+"/api/v1/modules/"+deleted {
		t.Fatalf("DELETE on a standby: %d to %q, want 307 to the leader", code, loc)
	}
	if !holds(leader, deleted) {
		t.Fatal("a DELETE redirected by a standby deleted the module")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rm := exec.CommandContext(ctx, mezzoBin, "module", "rm", "--master", up.addr, deleted)
	out, err := rm.Output()
	if err != nil || string(out) != "DELETED\n"+deleted+"\n" {
		t.Fatalf("mezzo module rm through a standby: %v, stdout %q", err, out)
	}
	if holds(leader, deleted) {
		t.Error("the leader answered the deletion before removing its copy")
	}
	waitFor(t, func() bool { return !holds(up, deleted) }, "the standby to remove its copy")
	if code, _ := status(leader, http.MethodGet, deleted); code != http.StatusNotFound {
		t.Errorf("GET of the deleted module on the leader: %d, want 404", code)
	}

	c.start(down)
	waitFor(t, func() bool { return !holds(down, deleted) }, "the standby that was down to remove its copy")

	c.kill(leader, syscall.SIGKILL)
	var next *masterProc
	waitFor(t, func() bool {
		for _, m := range standbys {
			if code, _ := status(m, http.MethodGet, deleted); code == http.StatusNotFound {
				next = m // only a leader answers 404; a standby redirects
				return true
			}
		}
		return false
	}, "a new leader to answer 404 for the deleted module")
	if code, _ := status(next, http.MethodDelete, deleted); code != http.StatusNotFound {
		t.Errorf("DELETE of the deleted module on the new leader: %d, want 404", code)
	}
	later := upload(next, module(0))
	for _, m := range standbys {
		if holds(m, deleted) {
			t.Errorf("%s copied the deleted module back", m.addr)
		}
		if !holds(m, kept) || !holds(m, later) {
			t.Errorf("%s lost a module it should hold", m.addr)
		}
	}
}

// TestRunSurvivesLeaderDeath SIGKILLs the leader of three replicated
// masters while `mezzo run` follows a task: the run re-subscribes to the
// new leader and ends as its task does, with its output. Its framework
// once had a failover timeout of 0, which the new leader took as "remove
// at once", refusing the re-subscription ("Framework has been removed").
// Then an interrupted run ends at once with 130 and its task is killed.
func TestRunSurvivesLeaderDeath(t *testing.T) {
	c := startReplicated(t, 3)
	leader := c.waitLeader(t)
	masters := strings.Join(c.addrs(), ",")
	startAgent(t, masters, t.TempDir(), "--resources", "cpus:2;mem:1024;disk:1024")
	sha := pushModule(t, leader.addr, buildModule(t, "./samples/modules/sleeper"))
	start := func(arg string) (*exec.Cmd, *syncBuffer, *syncBuffer) {
		run := exec.Command(mezzoBin, "run", "--master", masters, sha, "--", arg)
		stdout, stderr := &syncBuffer{}, &syncBuffer{}
		run.Stdout, run.Stderr = stdout, stderr
		if err := run.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { run.Process.Kill(); run.Wait() })
		waitFor(t, func() bool { return strings.Contains(stdout.String(), "sleeping") }, "the task's output")
		return run, stdout, stderr
	}

	run, stdout, stderr := start("5s")
	c.kill(leader, syscall.SIGKILL)
	if err := run.Wait(); err != nil || !strings.Contains(stdout.String(), "awake") {
		t.Fatalf("mezzo run across the leader's death: %v\nstdout: %q\nstderr: %s", err, stdout.String(), stderr.String())
	}

	run, _, stderr = start("1h")
	run.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- run.Wait() }()
	select {
	case err := <-done:
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 130 {
			t.Errorf("interrupted mezzo run: %v, want exit 130\nstderr: %s", err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("an interrupted mezzo run did not end")
	}
	waitFor(t, func() bool {
		l := c.leader()
		if l == nil {
			return false
		}
		tasks := opTasks(l.addr)
		if tasks == nil {
			return false
		}
		killed := 0
		for _, task := range tasks.CompletedTasks {
			if task.State == api.TaskKilled {
				killed++
			}
		}
		return len(tasks.Tasks) == 0 && killed == 1
	}, "the interrupted run's task to be killed")
}
