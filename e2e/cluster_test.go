package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/sdk/wasmbuild"
)

// mezzoBin is the binary under test, built once by TestMain.
var mezzoBin string

// repoRoot is the repository root, where mezzo run builds sample modules.
var repoRoot string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "mezzo-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	repoRoot, _ = filepath.Abs("..")
	mezzoBin = filepath.Join(dir, "mezzo")
	build := exec.Command("go", "build", "-o", mezzoBin, "./cmd/mezzo")
	build.Dir = repoRoot
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build mezzo:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// devCluster is a running `mezzo dev`.
type devCluster struct {
	addr   string // HOST:PORT of the master
	cmd    *exec.Cmd
	logs   *bytes.Buffer
	banner *syncBuffer // what mezzo dev printed on stdout
}

var apiLine = regexp.MustCompile(`API:\s+http://([^/\s]+)/api/v1`)

// startDev starts `mezzo dev` on free ports in a temporary directory and
// waits until its banner names the master's address.
func startDev(t testing.TB, flags ...string) *devCluster {
	t.Helper()
	return startDevIn(t, t.TempDir(), flags...)
}

// startDevIn is startDev with its work directory given, for tests that
// look at the agent's files, and extra flags for mezzo dev. The work
// directory is made reachable by the user native tasks run as, so that
// the agent's sandboxes stay in it.
func startDevIn(t testing.TB, workDir string, flags ...string) *devCluster {
	t.Helper()
	searchable(t, workDir)
	return startDevAt(t, workDir, flags...)
}

// startDevAt is startDevIn with the work directory left as it is.
func startDevAt(t testing.TB, workDir string, flags ...string) *devCluster {
	t.Helper()
	return startDevFrom(t, repoRoot, append([]string{"--work-dir", workDir}, flags...)...)
}

// startDevFrom starts `mezzo dev` on free ports in the directory dir,
// with flags.
func startDevFrom(t testing.TB, dir string, flags ...string) *devCluster {
	t.Helper()
	cmd := exec.Command(mezzoBin, append([]string{"dev", "--port", "0", "--agent-port", "0"}, flags...)...)
	cmd.Dir = dir
	logs := &bytes.Buffer{}
	cmd.Stderr = logs
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &devCluster{cmd: cmd, logs: logs, banner: &syncBuffer{}}
	t.Cleanup(func() { c.stop(t) })
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			fmt.Fprintln(c.banner, sc.Text())
			if m := apiLine.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	select {
	case c.addr = <-found:
	case <-time.After(60 * time.Second):
		t.Fatalf("mezzo dev printed no API address; logs:\n%s", logs)
	}
	return c
}

// stop interrupts the cluster as Ctrl-C would and checks it exits cleanly.
func (c *devCluster) stop(t testing.TB) {
	if c.cmd.ProcessState != nil {
		return
	}
	_ = c.cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("mezzo dev did not exit cleanly on SIGINT: %v; logs:\n%s", err, c.logs)
		}
	case <-time.After(30 * time.Second):
		_ = c.cmd.Process.Kill()
		t.Errorf("mezzo dev did not stop within 30s of SIGINT; logs:\n%s", c.logs)
	}
}

// mezzo runs the CLI against the cluster and returns its output and exit
// code.
func (c *devCluster) mezzo(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	full := append([]string{args[0], "--master", c.addr}, args[1:]...)
	cmd := exec.CommandContext(ctx, mezzoBin, full...)
	cmd.Dir = repoRoot
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("mezzo %s timed out; stderr:\n%s\ncluster logs:\n%s", strings.Join(args, " "), errb.String(), c.logs)
	}
	code = 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("mezzo %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), errb.String(), code
}

// post sends body to a master path and returns the status and answer.
func (c *devCluster) post(t *testing.T, path, contentType string, body []byte) (int, string) {
	t.Helper()
	resp, err := http.Post("http://"+c.addr+path, contentType, bytes.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// tasks returns GET_TASKS.
func (c *devCluster) tasks(t *testing.T) *api.GetTasksResponse {
	t.Helper()
	status, body := c.post(t, "/api/v1", "application/json", []byte(`{"type":"GET_TASKS"}`))
	if status != http.StatusOK {
		t.Fatalf("GET_TASKS: %d %s", status, body)
	}
	var resp api.OperatorResponse
	if err := json.Unmarshal([]byte(body), &resp); err != nil || resp.GetTasks == nil {
		t.Fatalf("GET_TASKS answer %q: %v", body, err)
	}
	return resp.GetTasks
}

// waitFor polls cond until it holds, failing after a generous deadline.
func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// buildModule builds a Go package for wasip1 and returns the .wasm path.
func buildModule(t testing.TB, pkg string) string {
	t.Helper()
	wasm, err := wasmbuild.Build(context.Background(), repoRoot, pkg)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), filepath.Base(pkg)+".wasm")
	if err := os.WriteFile(path, wasm, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// processRunning reports whether a live process has exactly this command
// line (arguments joined by spaces).
func processRunning(t *testing.T, cmdline string) bool {
	t.Helper()
	dirs, err := filepath.Glob("/proc/[0-9]*/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		b, err := os.ReadFile(d)
		if err != nil {
			continue
		}
		if strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " ")) == cmdline {
			stat, err := os.ReadFile(filepath.Join(filepath.Dir(d), "stat"))
			if err == nil && strings.Contains(string(stat), ") Z ") {
				continue // a zombie is dead, just not yet reaped
			}
			return true
		}
	}
	return false
}

// agentIDs returns the IDs of the cluster's agents.
func (c *devCluster) agentIDs(t *testing.T) []string {
	t.Helper()
	status, body := c.post(t, "/api/v1", "application/json", []byte(`{"type":"GET_AGENTS"}`))
	var resp api.OperatorResponse
	if status != http.StatusOK || json.Unmarshal([]byte(body), &resp) != nil || resp.GetAgents == nil {
		t.Fatalf("GET_AGENTS: %d %s", status, body)
	}
	var ids []string
	for _, a := range resp.GetAgents.Agents {
		ids = append(ids, a.AgentInfo.ID.Value)
	}
	return ids
}

// searchable lets anyone search (traverse) dir and the directories above
// it up to the system's temporary directory, which t.TempDir makes for
// its owner alone: an agent running as root runs native tasks as nobody,
// who must reach their sandboxes under dir.
func searchable(t testing.TB, dir string) string {
	t.Helper()
	for d := dir; strings.HasPrefix(d, os.TempDir()+"/"); d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
	}
	return dir
}

// writeFile writes a test's input file.
func writeFile(t testing.TB, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// buildSample builds the Go program at ./<pkg> of the repository into the
// test's temporary directory and returns its path.
func buildSample(t testing.TB, pkg string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), filepath.Base(pkg))
	build := exec.Command("go", "build", "-o", bin, "./"+pkg)
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", pkg, err, out)
	}
	return bin
}
