package agent

import (
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

// TestProcessCPU reads this process's CPU time from /proc and checks it
// against getrusage after burning some CPU.
func TestProcessCPU(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	var ru syscall.Rusage
	for {
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			t.Fatal(err)
		}
		if time.Duration(ru.Utime.Nano()+ru.Stime.Nano()) > 100*time.Millisecond {
			break
		}
		for i := 0; i < 1e6; i++ {
			_ = i * i
		}
	}
	got, ok := processCPU(os.Getpid())
	if !ok {
		t.Fatal("processCPU could not read this process's CPU time")
	}
	// /proc counts in hundredths of a second; getrusage is finer.
	if want := time.Duration(ru.Utime.Nano() + ru.Stime.Nano()); got < want-20*time.Millisecond {
		t.Errorf("processCPU = %v, want at least %v (getrusage, read before)", got, want)
	}
	if _, ok := processCPU(-1); ok {
		t.Error("processCPU of no process succeeded")
	}
}

// TestWatchCPUEndsWithASecondTask watches a budgeted task alone in its
// executor, then gives the executor a second task, which burns CPU: the
// executor's CPU time is no longer the first task's, and the agent must
// not kill the executor, and the second task with it, for the first
// one's budget.
func TestWatchCPUEndsWithASecondTask(t *testing.T) {
	a, r, _ := newTestAgent(t)
	executor := exec.Command("/bin/sh", "-c", "while :; do :; done") // the second task's work
	executor.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := executor.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { executor.Process.Kill(); executor.Wait() }()
	pid := executor.Process.Pid
	a.mu.Lock()
	r.rec.PID, r.rec.StartTime = pid, processStartTime(pid)
	first := r.tasks["t1"]
	first.info = api.TaskInfo{TaskID: api.TaskID{Value: "t1"}, Container: &api.ContainerInfo{Type: api.ContainerWasm,
		Wasm: &api.WasmInfo{SHA256: strings.Repeat("0", 64), Engine: "wazero", Limits: &api.WasmLimits{CPUSeconds: 0.1}}}}
	first.state = api.TaskRunning
	a.watchCPU(r, first)
	r.add(&execTask{info: api.TaskInfo{TaskID: api.TaskID{Value: "t2"}}, state: api.TaskRunning, queued: true, sent: true})
	a.mu.Unlock()
	// Well past the budget and its grace, with many of the watch's ticks.
	want := 4 * (cpuBudget(first.info) + cpuGrace)
	deadline := time.Now().Add(time.Minute)
	for {
		used, ok := processCPU(pid)
		if !ok || !processAlive(pid, processStartTime(pid)) {
			a.mu.Lock()
			reason, msg := r.exitReason, r.exitMsg
			a.mu.Unlock()
			t.Fatalf("the executor was killed: %s %q", reason, msg)
		}
		if used > want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the executor used only %v of CPU in a minute", used)
		}
		time.Sleep(20 * time.Millisecond)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if r.exitMsg != "" {
		t.Errorf("the executor was condemned for the first task's budget: %s %q", r.exitReason, r.exitMsg)
	}
}
