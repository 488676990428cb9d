package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

// TestSampleExecute runs samples/execute, the smallest framework, against a
// dev cluster as a framework author would after copying it.
func TestSampleExecute(t *testing.T) {
	c := startDev(t)
	run := func(args ...string) (string, int) { return runSample(t, "./samples/execute", c.addr, args...) }
	out, code := run("--instances", "3", "--", "echo hello from $MESOS_TASK_ID")
	if code != 0 || strings.Count(out, "TASK_FINISHED") != 3 {
		t.Fatalf("three instances: exit %d\n%s", code, out)
	}
	out, code = run("--", "exit 5")
	if code != 1 || !strings.Contains(out, "TASK_FAILED") || !strings.Contains(out, "status 5") {
		t.Fatalf("a failing command: exit %d\n%s", code, out)
	}
	if tasks := c.tasks(t); len(tasks.Tasks) != 0 || len(tasks.CompletedTasks) != 4 {
		t.Fatalf("tasks after the samples: %d live, %d completed; want 0 and 4", len(tasks.Tasks), len(tasks.CompletedTasks))
	}
}

// TestSampleExecuteSurvivesRestart SIGKILLs samples/execute, run with
// --state, while one of its tasks has finished and two run, and starts it
// again with the same file: it carries on as the same framework, learns
// what became of its tasks, launches none again, and ends as one
// uninterrupted run would.
func TestSampleExecuteSurvivesRestart(t *testing.T) {
	c := startDev(t)
	bin := buildSample(t, "samples/execute")
	statePath := filepath.Join(t.TempDir(), "execute.json")
	// execute-0 ends at once, execute-1 after 3 s, execute-2 after 6 s.
	args := []string{"--master", c.addr, "--instances", "3", "--state", statePath, "--", "sleep $((${MESOS_TASK_ID#execute-} * 3))"}
	first := exec.Command(bin, args...)
	var out1 bytes.Buffer
	first.Stdout, first.Stderr = &out1, &out1
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		tasks := c.tasks(t)
		running := 0
		for _, task := range tasks.Tasks {
			if task.State == api.TaskRunning {
				running++
			}
		}
		return running == 2 && len(tasks.CompletedTasks) == 1
	}, "execute-0 to finish while the other two run")
	first.Process.Kill()
	first.Wait()
	var saved struct {
		FrameworkID string `json:"framework_id"`
	}
	if data, err := os.ReadFile(statePath); err != nil || json.Unmarshal(data, &saved) != nil || saved.FrameworkID == "" {
		t.Fatalf("state after the kill: %v, %+v\n%s", err, saved, out1.String())
	}

	second := exec.Command(bin, args...)
	out2, err := second.CombinedOutput()
	if err != nil {
		t.Fatalf("execute started again: %v\nfirst run:\n%s\nsecond run:\n%s", err, out1.String(), out2)
	}
	both := out1.String() + string(out2)
	if !strings.Contains(string(out2), "carrying on as framework "+saved.FrameworkID) {
		t.Fatalf("the second run did not carry on as %s:\n%s", saved.FrameworkID, out2)
	}
	for i := range 3 {
		if !strings.Contains(both, fmt.Sprintf("execute-%d TASK_FINISHED", i)) {
			t.Errorf("execute-%d's end was never reported:\n%s", i, both)
		}
	}
	if tasks := c.tasks(t); len(tasks.Tasks) != 0 || len(tasks.CompletedTasks) != 3 {
		t.Fatalf("tasks: %d live, %d completed; want 0 and 3 (none launched twice)", len(tasks.Tasks), len(tasks.CompletedTasks))
	}
	if _, err := os.Stat(statePath); !os.IsNotExist(err) {
		t.Fatalf("the state file outlived the run: %v", err)
	}
	fws := c.operator(t, api.OperatorGetFrameworks).GetFrameworks
	for _, fw := range fws.Frameworks {
		if fw.FrameworkInfo.ID != nil && fw.FrameworkInfo.ID.Value == saved.FrameworkID {
			t.Fatalf("framework %s is still registered after the run tore it down", saved.FrameworkID)
		}
	}

	// A state file that is not the run's is refused, not overwritten.
	writeFile(t, statePath, `{"framework_id":"x","instances":{"execute-0":{}}}`)
	out, err := exec.Command(bin, "--master", c.addr, "--instances", "2", "--state", statePath, "--", "true").CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), "a run of 1 instances, not 2") {
		t.Fatalf("a state file of another run: %v\n%s", err, out)
	}
	if data, _ := os.ReadFile(statePath); !strings.Contains(string(data), `"x"`) {
		t.Fatalf("the refused state file was changed: %s", data)
	}
}

// runSample runs a sample framework with go run against the master at
// addr and returns its combined output and exit code.
func runSample(t *testing.T, pkg, addr string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", append([]string{"run", pkg, "--master", addr}, args...)...)
	cmd.Dir = repoRoot
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("go run %s: %v\n%s", pkg, err, out)
	}
	return string(out), code
}

// TestSampleWordcount counts the words of a text whose counts are known
// by construction with samples/wordcount — map and reduce tasks as Wasm
// modules, inputs fetched from the framework — and checks the result
// file; then it runs the sample with a map module that fails, to see the
// failed tasks launched again and the job give up with a clear error.
func TestSampleWordcount(t *testing.T) {
	c := startDev(t)
	dir := t.TempDir()
	// Word i appears i times, in varying case and punctuation, so the
	// expected counts do not depend on the code under test.
	var text strings.Builder
	want := map[string]int64{}
	for round := 0; round < 40; round++ {
		for i := 1; i <= 40; i++ {
			if round < i {
				word := fmt.Sprintf("word%d", i)
				if round%3 == 0 {
					word = strings.ToUpper(word)
				}
				fmt.Fprintf(&text, "%s, ", word)
				want[fmt.Sprintf("word%d", i)]++
			}
		}
		text.WriteString("\n")
	}
	input := filepath.Join(dir, "input.txt")
	if err := os.WriteFile(input, []byte(text.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	result := filepath.Join(dir, "counts.tsv")
	out, code := runSample(t, "./samples/wordcount", c.addr,
		"--input", input, "--maps", "5", "--reducers", "3", "--out", result, "--check")
	if code != 0 || !strings.Contains(out, "matches a local count") || !strings.Contains(out, "map:     5 tasks") {
		t.Fatalf("wordcount: exit %d\n%s", code, out)
	}
	data, err := os.ReadFile(result)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		word, n, _ := strings.Cut(line, "\t")
		c, err := strconv.ParseInt(n, 10, 64)
		if err != nil {
			t.Fatalf("result line %q: %v", line, err)
		}
		got[word] = c
	}
	if !maps.Equal(got, want) {
		t.Fatalf("counts %v, want %v", got, want)
	}

	// The reduce module as the map: it cannot read text as counts and
	// exits 1, every time.
	out, code = runSample(t, "./samples/wordcount", c.addr, "--input", input, "--maps", "1", "--retries", "1",
		"--map-module", "github.com/mezzo-cluster/mezzo/samples/modules/wcreduce")
	if code != 1 || strings.Count(out, "launching it again") != 1 || !strings.Contains(out, "map-0 failed 2 times") {
		t.Fatalf("a failing map task: exit %d\n%s", code, out)
	}
}

// TestSampleWordcountSurvivesRestart SIGKILLs samples/wordcount, run with
// --state, once some of its map tasks have finished, and starts it again
// with the same file: it carries on as the same framework, takes the
// finished maps' outputs from their sandboxes instead of running them
// again, and its count still checks out.
func TestSampleWordcountSurvivesRestart(t *testing.T) {
	c := startDev(t)
	input := filepath.Join(t.TempDir(), "input.txt")
	writeFile(t, input, strings.Repeat("the quick brown fox jumps over the lazy dog\n", 20000))
	statePath := filepath.Join(t.TempDir(), "wordcount.json")
	bin := buildSample(t, "samples/wordcount")
	// A whole CPU per task: two maps at a time on the dev agent, so that
	// the job is killed with maps done, maps in flight and maps queued.
	// The same address for the inputs in both runs, so that tasks in
	// flight can still fetch theirs.
	args := []string{"--master", c.addr, "--input", input, "--maps", "8", "--reducers", "2", "--cpus", "1",
		"--listen", fmt.Sprintf("127.0.0.1:%d", freePort(t)), "--state", statePath, "--check"}
	first := exec.Command(bin, args...)
	first.Dir = repoRoot // it builds its modules from the repository
	var out1 bytes.Buffer
	first.Stdout, first.Stderr = &out1, &out1
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- first.Wait() }()
	var saved struct {
		FrameworkID string                     `json:"framework_id"`
		Done        map[string]json.RawMessage `json:"done"`
	}
	waitFor(t, func() bool {
		data, err := os.ReadFile(statePath)
		return err == nil && json.Unmarshal(data, &saved) == nil && len(saved.Done) > 0
	}, "a map task to finish")
	first.Process.Kill()
	if err := <-done; err == nil {
		t.Fatalf("wordcount ended before it was killed: nothing was tested\n%s", out1.String())
	}
	if len(saved.Done) == 10 {
		t.Fatalf("every piece was done when wordcount was killed: nothing was tested\n%s", out1.String())
	}

	second := exec.Command(bin, args...)
	second.Dir = repoRoot
	out2, err := second.CombinedOutput()
	if err != nil || !strings.Contains(string(out2), "matches a local count") {
		t.Fatalf("wordcount started again: %v\nfirst run:\n%s\nsecond run:\n%s", err, out1.String(), out2)
	}
	if !strings.Contains(string(out2), "carrying on as framework "+saved.FrameworkID) {
		t.Fatalf("the second run did not carry on as %s:\n%s", saved.FrameworkID, out2)
	}
	// Every piece succeeded once: none that had finished ran again.
	finished := map[string]int{}
	for _, task := range c.tasks(t).CompletedTasks {
		if task.State == api.TaskFinished {
			piece := strings.TrimPrefix(task.Name, "wordcount-")
			finished[piece[:strings.LastIndex(piece, "-")]]++
		}
	}
	for _, p := range []string{"map-0", "map-1", "map-2", "map-3", "map-4", "map-5", "map-6", "map-7", "reduce-0", "reduce-1"} {
		if finished[p] != 1 {
			t.Errorf("%s finished %d times, want once (all: %v)", p, finished[p], finished)
		}
	}
	if _, err := os.Stat(statePath); !os.IsNotExist(err) {
		t.Fatalf("the state file outlived the job: %v", err)
	}
}

// TestSampleModules runs the sample task modules as Wasm tasks on a dev
// cluster, the way their doc comments suggest: the memory hog within its
// memory and beyond it, the sleeper, the CPU burner and the heartbeat.
func TestSampleModules(t *testing.T) {
	c := startDev(t)
	tests := []struct {
		args     []string
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{[]string{"--mem", "64", "./samples/modules/hog", "--", "16"}, 0, "16 MiB\n", ""},
		{[]string{"--mem", "64", "./samples/modules/hog"}, 1, "8 MiB", "REASON_CONTAINER_LIMITATION_MEMORY"},
		{[]string{"./samples/modules/sleeper", "--", "100ms"}, 0, "awake", ""},
		{[]string{"./samples/modules/burn", "--", "50ms"}, 0, "hashed ", ""},
		{[]string{"./samples/modules/burn", "--", "soon"}, 2, "", "want a duration"},
		{[]string{"./samples/modules/heartbeat", "--", "-1s"}, 2, "", "want an interval"},
	}
	for _, tt := range tests {
		out, errOut, code := c.mezzo(t, append([]string{"run"}, tt.args...)...)
		if code != tt.wantCode || !strings.Contains(out, tt.wantOut) || !strings.Contains(errOut, tt.wantErr) {
			t.Errorf("mezzo run %v: exit %d, stdout %q, stderr %q; want exit %d, stdout with %q, stderr with %q",
				tt.args, code, out, errOut, tt.wantCode, tt.wantOut, tt.wantErr)
		}
	}
}

// TestSampleExecuteSurvivesFailover runs samples/execute against three
// replicated masters and SIGKILLs the leader while its tasks run: the
// framework follows the new leader and every task finishes, once.
func TestSampleExecuteSurvivesFailover(t *testing.T) {
	c := startReplicated(t, 3)
	leader := c.waitLeader(t)
	masters := strings.Join(c.addrs(), ",")
	startAgent(t, masters, t.TempDir(), "--resources", "cpus:2;mem:1024;disk:1024")
	bin := buildSample(t, "samples/execute")
	cmd := exec.Command(bin, "--master", masters, "--instances", "3", "--", "sleep 3")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	waitFor(t, func() bool {
		tasks := opTasks(leader.addr)
		if tasks == nil {
			return false
		}
		running := 0
		for _, task := range tasks.Tasks {
			if task.State == api.TaskRunning {
				running++
			}
		}
		return running == 3
	}, "the three tasks to run")
	c.kill(leader, syscall.SIGKILL)
	select {
	case err := <-done:
		if err != nil || strings.Count(out.String(), "TASK_FINISHED") != 3 {
			t.Fatalf("execute across a failover: %v\n%s", err, out.String())
		}
	case <-time.After(90 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("execute did not end within 90 s of the failover:\n%s", out.String())
	}
}

// TestSampleWordcountSurvivesFailover runs samples/wordcount against three
// replicated masters and SIGKILLs the leader once its first tasks are
// launched: the count still completes and checks out.
func TestSampleWordcountSurvivesFailover(t *testing.T) {
	c := startReplicated(t, 3)
	leader := c.waitLeader(t)
	masters := strings.Join(c.addrs(), ",")
	startAgent(t, masters, t.TempDir(), "--resources", "cpus:2;mem:2048;disk:1024")
	input := filepath.Join(t.TempDir(), "input.txt")
	writeFile(t, input, strings.Repeat("the quick brown fox jumps over the lazy dog\n", 20000))
	bin := buildSample(t, "samples/wordcount")
	cmd := exec.Command(bin, "--master", masters, "--input", input, "--maps", "8", "--reducers", "2", "--check")
	cmd.Dir = repoRoot // it builds its modules from the repository
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	waitFor(t, func() bool {
		code, _, body, err := opCall(leader.addr, `{"type":"GET_TASKS"}`)
		return err == nil && code == http.StatusOK && strings.Contains(string(body), "wordcount-map-")
	}, "the first map tasks to be launched")
	select {
	case err := <-done:
		t.Fatalf("wordcount ended before the leader was killed (%v): nothing was tested\n%s", err, out.String())
	default:
	}
	c.kill(leader, syscall.SIGKILL)
	select {
	case err := <-done:
		if err != nil || !strings.Contains(out.String(), "matches a local count") {
			t.Fatalf("wordcount across a failover: %v\n%s", err, out.String())
		}
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
		t.Fatalf("wordcount did not end within 2 minutes of the failover:\n%s", out.String())
	}
}
