package executor_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/cmd/mezzo/internal/executor"
	sdk "github.com/mezzo-cluster/mezzo/sdk/executor"
	"github.com/mezzo-cluster/mezzo/sdk/executor/executortest"
)

// The tests run Run in-process against a stand-in agent
// (sdk/executor/executortest) that speaks the real wire, with real native
// processes and a real Wasm module.

const waitTime = 20 * time.Second

// shared holds what the tests share: a modules directory and a compiled
// code cache, made by TestMain.
var shared struct {
	modulesDir string
	cacheDir   string

	helloOnce sync.Once
	helloSHA  string
	helloErr  error
}

// hello returns the SHA-256 of samples/modules/hello built for wasip1,
// building it into the modules directory on first use.
func hello(t *testing.T) string {
	t.Helper()
	shared.helloOnce.Do(func() {
		out := filepath.Join(shared.modulesDir, "hello.build")
		cmd := exec.Command(goTool(), "build", "-o", out, "../../../../samples/modules/hello")
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
		if msg, err := cmd.CombinedOutput(); err != nil {
			shared.helloErr = fmt.Errorf("build hello: %v\n%s", err, msg)
			return
		}
		wasm, err := os.ReadFile(out)
		if err != nil {
			shared.helloErr = err
			return
		}
		sum := sha256.Sum256(wasm)
		shared.helloSHA = hex.EncodeToString(sum[:])
		shared.helloErr = os.Rename(out, filepath.Join(shared.modulesDir, shared.helloSHA+".wasm"))
	})
	if shared.helloErr != nil {
		t.Fatal(shared.helloErr)
	}
	return shared.helloSHA
}

// goTool returns the go command.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

// harness runs one executor against a stand-in agent.
type harness struct {
	t       *testing.T
	agent   *executortest.Agent
	sandbox string
	done    chan error
	cancel  context.CancelFunc
}

// start runs an executor; tweak may change its Config.
func start(t *testing.T, opts executortest.Options, tweak ...func(*executor.Config)) *harness {
	t.Helper()
	agent := executortest.NewAgent(opts)
	t.Cleanup(agent.Close)
	cfg := executor.DefaultConfig()
	cfg.Client = sdk.Config{
		AgentEndpoint:   agent.Endpoint(),
		FrameworkID:     "fw-1",
		ExecutorID:      "ex-1",
		Sandbox:         t.TempDir(),
		MinBackoff:      5 * time.Millisecond,
		MaxBackoff:      50 * time.Millisecond,
		RecoveryTimeout: waitTime,
	}
	cfg.ModulesDir = shared.modulesDir
	cfg.ModuleCache = shared.cacheDir
	for _, f := range tweak {
		f(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &harness{t: t, agent: agent, sandbox: cfg.Client.Sandbox, done: make(chan error, 1), cancel: cancel}
	go func() { h.done <- executor.Run(ctx, cfg) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-h.done:
		case <-time.After(waitTime):
			t.Error("Run did not return after its context ended")
		}
	})
	h.wait("the executor to subscribe", agent.Connected)
	return h
}

// wait fails the test unless cond becomes true in time.
func (h *harness) wait(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(waitTime)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// terminal waits for the task's terminal update and returns it.
func (h *harness) terminal(id string) api.TaskStatus {
	h.t.Helper()
	var st api.TaskStatus
	h.wait("a terminal update of "+id, func() bool {
		for _, u := range h.agent.Updates() {
			if u.TaskID.Value == id && u.State.IsTerminal() {
				st = u
				return true
			}
		}
		return false
	})
	return st
}

// running waits until each of the tasks has reported TASK_RUNNING.
func (h *harness) running(ids ...string) {
	h.t.Helper()
	h.wait(fmt.Sprint("TASK_RUNNING of ", ids), func() bool {
		for _, id := range ids {
			if !slices.Contains(h.agent.States(id), api.TaskRunning) {
				return false
			}
		}
		return true
	})
}

// states returns the task's states as a string, for comparison.
func (h *harness) states(id string) string { return fmt.Sprint(h.agent.States(id)) }

// result waits for Run to return.
func (h *harness) result() error {
	h.t.Helper()
	select {
	case err := <-h.done:
		h.done <- err // for the cleanup
		return err
	case <-time.After(waitTime):
		h.t.Fatal("Run did not return")
		return nil
	}
}

func shell(id, script string) api.TaskInfo {
	return api.TaskInfo{Name: id, TaskID: api.TaskID{Value: id}, AgentID: api.AgentID{Value: "agent-1"},
		Command: &api.CommandInfo{Value: script}}
}

func wasmTask(id, sha string, args ...string) api.TaskInfo {
	return api.TaskInfo{Name: id, TaskID: api.TaskID{Value: id}, AgentID: api.AgentID{Value: "agent-1"},
		Resources: []api.Resource{{Name: "mem", Type: api.SCALAR, Scalar: &api.Scalar{Value: 64}}},
		Container: &api.ContainerInfo{Type: api.ContainerWasm, Wasm: &api.WasmInfo{SHA256: sha, Arguments: args}}}
}

func grace(d time.Duration) *api.KillPolicy {
	return &api.KillPolicy{GracePeriod: &api.DurationInfo{Nanoseconds: api.Int64(d)}}
}

func label(st api.TaskStatus, key string) string {
	if st.Labels == nil {
		return ""
	}
	for _, l := range st.Labels.Labels {
		if l.Key == key {
			return l.Value
		}
	}
	return ""
}

// readFile returns a file's content, or "" if it cannot be read.
func readFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

// pgid waits for the task to write its shell's PID (which leads its
// process group) to the file pid in dir, and returns it.
func (h *harness) pgid(dir string) int {
	h.t.Helper()
	var pid int
	h.wait("the task's pid file", func() bool {
		b := bytes.TrimSpace([]byte(readFile(filepath.Join(dir, "pid"))))
		n, err := strconv.Atoi(string(b))
		pid = n
		return err == nil && n > 0
	})
	return pid
}

// groupAlive reports whether a process of process group pgid is still
// alive (zombies, which only await their parent's wait, do not count).
func groupAlive(pgid int) bool {
	if err := syscall.Kill(-pgid, 0); err == syscall.ESRCH {
		return false
	}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		stat := readFile(filepath.Join("/proc", e.Name(), "stat"))
		// The fields after the command name, which is in parentheses:
		// state, ppid, pgrp, ...
		i := strings.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(stat[i+1:])
		if len(f) >= 3 && f[0] != "Z" && f[2] == strconv.Itoa(pgid) {
			return true
		}
	}
	return false
}

func (h *harness) waitGroupGone(pgid int) {
	h.t.Helper()
	h.wait(fmt.Sprintf("process group %d to be gone", pgid), func() bool { return !groupAlive(pgid) })
}
