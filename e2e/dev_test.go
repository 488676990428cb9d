package e2e

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mezzo-cluster/mezzo/api"
)

// TestDevCluster walks the foundation's path as a newcomer would: start
// mezzo dev, run the hello module and a failing native command, feed the
// master bad input, and check the cluster is still healthy and remembers
// the tasks.
func TestDevCluster(t *testing.T) {
	c := startDev(t)

	t.Run("hello module", func(t *testing.T) {
		out, errOut, code := c.mezzo(t, "run", "./samples/modules/hello", "--", "world")
		if code != 0 || !strings.Contains(out, "world") {
			t.Fatalf("mezzo run hello: exit %d, stdout %q, stderr %q; cluster logs:\n%s", code, out, errOut, c.logs)
		}
	})

	t.Run("environment reaches module", func(t *testing.T) {
		out, errOut, code := c.mezzo(t, "run", "--env", "GREETING=bonjour", "./samples/modules/hello", "--", "monde")
		if code != 0 || !strings.Contains(out, "bonjour monde") {
			t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
		}
	})

	t.Run("prebuilt wasm file and stored hash", func(t *testing.T) {
		wasm := buildModule(t, "./samples/modules/hello")
		out, _, code := c.mezzo(t, "run", "--module", wasm, "--", "file")
		if code != 0 || !strings.Contains(out, "hello file") {
			t.Fatalf("run .wasm file: exit %d, stdout %q", code, out)
		}
		data, _ := os.ReadFile(wasm)
		status, body := c.post(t, "/api/v1/modules", "application/wasm", data)
		if status != http.StatusOK {
			t.Fatalf("upload: %d %s", status, body)
		}
		var m struct{ SHA256 string }
		if err := json.Unmarshal([]byte(body), &m); err != nil || len(m.SHA256) != 64 {
			t.Fatalf("upload answer %q: %v", body, err)
		}
		out, _, code = c.mezzo(t, "run", m.SHA256, "--", "hash")
		if code != 0 || !strings.Contains(out, "hello hash") {
			t.Fatalf("run by hash: exit %d, stdout %q", code, out)
		}
	})

	t.Run("native command fails with its exit code", func(t *testing.T) {
		out, errOut, code := c.mezzo(t, "run", "--command", "echo hi; exit 3")
		if code != 3 || !strings.Contains(out, "hi") || !strings.Contains(errOut, "TASK_FAILED") {
			t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
		}
	})

	t.Run("truncated module is refused", func(t *testing.T) {
		wasm := buildModule(t, "./samples/modules/hello")
		data, _ := os.ReadFile(wasm)
		status, body := c.post(t, "/api/v1/modules", "application/wasm", data[:len(data)/2])
		if status != http.StatusBadRequest || !strings.Contains(body, "invalid module") {
			t.Fatalf("truncated module: %d %q", status, body)
		}
	})

	t.Run("garbage scheduler call", func(t *testing.T) {
		for _, body := range []string{"garbage", `{"type":`, `{"type":"SUBSCRIBE"}`, `[]`} {
			status, answer := c.post(t, "/api/v1/scheduler", "application/json", []byte(body))
			if status != http.StatusBadRequest || strings.TrimSpace(answer) == "" {
				t.Errorf("POST %q: %d %q, want 400 with a message", body, status, answer)
			}
		}
		if status, _ := c.post(t, "/api/v1/scheduler", "text/plain", []byte("{}")); status != http.StatusUnsupportedMediaType {
			t.Errorf("text/plain: %d, want 415", status)
		}
		resp, err := http.Get("http://" + c.addr + "/api/v1/scheduler")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("GET: %d, want 405", resp.StatusCode)
		}
	})

	t.Run("interrupted run kills its task", func(t *testing.T) {
		cmd := exec.Command(mezzoBin, "run", "--master", c.addr, "--name", "sleeper", "--command", "echo started; exec sleep 987654")
		cmd.Dir = repoRoot
		startUntil(t, cmd, "started")
		_ = cmd.Process.Signal(os.Interrupt)
		err := cmd.Wait()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 {
			t.Fatalf("interrupted mezzo run: %v, want exit status 130", err)
		}
		waitFor(t, func() bool {
			for _, task := range c.tasks(t).CompletedTasks {
				if task.Name == "sleeper" && task.State == api.TaskKilled {
					return true
				}
			}
			return false
		}, "the sleeper task to be TASK_KILLED")
		waitFor(t, func() bool { return !processRunning(t, "sleep 987654") }, "the sleeper process to be gone")
	})

	t.Run("module push and ls", func(t *testing.T) {
		wasm := buildModule(t, "./samples/modules/hello")
		out, errOut, code := c.mezzo(t, "module", "push", wasm, "./samples/modules/sleeper")
		if code != 0 || strings.Count(out, "\n") != 3 || !strings.Contains(out, wasm) || !strings.Contains(out, "./samples/modules/sleeper") {
			t.Fatalf("module push: exit %d, stdout %q, stderr %q", code, out, errOut)
		}
		sha := strings.Fields(strings.Split(out, "\n")[1])[0]
		out, _, code = c.mezzo(t, "module", "ls", "-o", "json")
		var mods []struct {
			SHA256 string `json:"sha256"`
			Size   int64  `json:"size"`
		}
		if code != 0 || json.Unmarshal([]byte(out), &mods) != nil || len(mods) < 2 {
			t.Fatalf("module ls -o json: exit %d\n%s", code, out)
		}
		found := false
		for _, m := range mods {
			found = found || (m.SHA256 == sha && m.Size > 0)
		}
		if !found {
			t.Fatalf("module ls does not list %s:\n%s", sha, out)
		}
		truncated := filepath.Join(t.TempDir(), "truncated.wasm")
		data, _ := os.ReadFile(wasm)
		writeFile(t, truncated, string(data[:len(data)/2]))
		_, errOut, code = c.mezzo(t, "module", "push", truncated)
		if code != 1 || !strings.Contains(errOut, "400 Bad Request: invalid module") {
			t.Fatalf("module push of a truncated module: exit %d, stderr %q", code, errOut)
		}
	})

	t.Run("module rm", func(t *testing.T) {
		hello := buildModule(t, "./samples/modules/hello")
		out, errOut, code := c.mezzo(t, "module", "push", hello, "./samples/modules/sleeper")
		lines := strings.Split(out, "\n")
		if code != 0 || len(lines) != 4 {
			t.Fatalf("module push: exit %d, stdout %q, stderr %q", code, out, errOut)
		}
		helloSHA, sleeperSHA := strings.Fields(lines[1])[0], strings.Fields(lines[2])[0]

		// A task of the sleeper module, running while its module is deleted.
		run := exec.Command(mezzoBin, "run", "--master", c.addr, "--name", "outlives-its-module", sleeperSHA, "--", "1h")
		run.Dir = repoRoot
		startUntil(t, run, "sleeping")

		unknown := strings.Repeat("e", 64)
		out, errOut, code = c.mezzo(t, "module", "rm", helloSHA, unknown, "not-a-hash", sleeperSHA)
		if code != 1 || out != "DELETED\n"+helloSHA+"\n"+sleeperSHA+"\n" {
			t.Fatalf("module rm: exit %d, stdout %q, want exit 1 and both modules listed", code, out)
		}
		if !strings.Contains(errOut, "delete module "+unknown+": 404") || !strings.Contains(errOut, "delete module not-a-hash: 400") {
			t.Fatalf("module rm: stderr %q, want a 404 for %s and a 400 for not-a-hash", errOut, unknown)
		}
		out, _, code = c.mezzo(t, "module", "ls", "-o", "json")
		if code != 0 || strings.Contains(out, helloSHA) || strings.Contains(out, sleeperSHA) {
			t.Fatalf("module ls after rm: exit %d\n%s", code, out)
		}
		running := false
		for _, task := range c.tasks(t).Tasks {
			running = running || (task.Name == "outlives-its-module" && task.State == api.TaskRunning)
		}
		if !running {
			t.Errorf("the task of the deleted sleeper module is not TASK_RUNNING: %+v", c.tasks(t).Tasks)
		}
		_ = run.Process.Signal(os.Interrupt)
		_ = run.Wait()

		_, errOut, code = c.mezzo(t, "run", helloSHA, "--", "deleted")
		if code == 0 || !strings.Contains(errOut, "is not in the module store") {
			t.Fatalf("run of a deleted module: exit %d, stderr %q", code, errOut)
		}
		if _, errOut, code = c.mezzo(t, "module", "push", hello); code != 0 {
			t.Fatalf("push after rm: exit %d, stderr %q", code, errOut)
		}
		if out, errOut, code = c.mezzo(t, "run", helloSHA, "--", "again"); code != 0 || !strings.Contains(out, "hello again") {
			t.Fatalf("run after pushing again: exit %d, stdout %q, stderr %q", code, out, errOut)
		}
	})

	t.Run("cpus and mem reach the task", func(t *testing.T) {
		if _, errOut, code := c.mezzo(t, "run", "--name", "sized", "--cpus", "0.25", "--mem", "48", "--command", "true"); code != 0 {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
		for _, task := range c.tasks(t).CompletedTasks {
			if task.Name != "sized" {
				continue
			}
			got := api.Resources(task.Resources)
			if got.ScalarValue("cpus") != 0.25 || got.ScalarValue("mem") != 48 {
				t.Fatalf("the task's resources are %s, want cpus:0.25;mem:48", got)
			}
			return
		}
		t.Fatal("the task sized is not among the completed tasks")
	})

	t.Run("a task no offer fits waits and says so", func(t *testing.T) {
		cmd := exec.Command(mezzoBin, "run", "--master", c.addr, "--cpus", "1000", "--command", "true")
		stderr, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		line, err := bufio.NewReader(stderr).ReadString('\n')
		if err != nil || !strings.Contains(line, "waiting for an offer of cpus:1000;mem:128") {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("stderr %q: %v", line, err)
		}
		_ = cmd.Process.Signal(os.Interrupt)
		if err := cmd.Wait(); err == nil {
			t.Fatal("an interrupted run that launched nothing exited 0")
		}
	})

	t.Run("healthy and remembers tasks", func(t *testing.T) {
		status, body := c.post(t, "/api/v1", "application/json", []byte(`{"type":"GET_HEALTH"}`))
		if status != http.StatusOK || !strings.Contains(body, `"healthy":true`) {
			t.Fatalf("GET_HEALTH: %d %s", status, body)
		}
		tasks := c.tasks(t)
		states := map[api.TaskState]int{}
		for _, task := range tasks.CompletedTasks {
			states[task.State]++
		}
		if states[api.TaskFinished] < 4 || states[api.TaskFailed] < 1 {
			t.Fatalf("completed tasks by state %v, want >= 4 finished and >= 1 failed", states)
		}
	})
}

// TestDevDefaultWorkDir starts mezzo dev as the README does, with no
// --work-dir, so that its state goes under ./.mezzo of the directory it
// runs in, and runs a Wasm and a native task on it.
func TestDevDefaultWorkDir(t *testing.T) {
	dir := t.TempDir()
	searchable(t, dir)
	c := startDevFrom(t, dir)
	waitFor(t, func() bool { return strings.Contains(c.banner.String(), "state:   ./.mezzo") }, "the banner to name ./.mezzo")
	wasm := buildModule(t, "./samples/modules/hello")
	if out, errOut, code := c.mezzo(t, "run", "--module", wasm, "--", "world"); code != 0 || out != "hello world\n" {
		t.Fatalf("mezzo run hello: exit %d, stdout %q, stderr %q; logs:\n%s", code, out, errOut, c.logs)
	}
	if out, errOut, code := c.mezzo(t, "run", "--command", "echo hi"); code != 0 || out != "hi\n" {
		t.Fatalf("mezzo run --command: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	for _, sub := range []string{"master/registry.db", "agent/agent.db"} {
		if _, err := os.Stat(filepath.Join(dir, ".mezzo", sub)); err != nil {
			t.Errorf("state under ./.mezzo: %v", err)
		}
	}
}
