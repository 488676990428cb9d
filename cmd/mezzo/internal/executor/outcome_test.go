package executor

import (
	"errors"
	"maps"
	"syscall"
	"testing"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/sandbox"
)

func TestOutcome(t *testing.T) {
	tests := []struct {
		name       string
		res        sandbox.Result
		killed     bool
		wantState  api.TaskState
		wantReason api.StatusReason
		wantMsg    string
	}{
		{name: "exit 0", res: sandbox.Result{}, wantState: api.TaskFinished, wantMsg: "Command exited with status 0"},
		{name: "exit 3", res: sandbox.Result{ExitCode: 3}, wantState: api.TaskFailed, wantMsg: "Command exited with status 3"},
		{name: "killed by SIGTERM", res: sandbox.Result{ExitCode: -1, Signal: syscall.SIGTERM, Reason: sandbox.ReasonKilled, Err: errors.New("command killed by signal terminated")},
			killed: true, wantState: api.TaskKilled, wantMsg: "Task killed: Command terminated with signal Terminated"},
		{name: "killed by SIGKILL after the grace period", res: sandbox.Result{ExitCode: -1, Signal: syscall.SIGKILL, Reason: sandbox.ReasonKilled, Err: errors.New("command killed by signal killed")},
			killed: true, wantState: api.TaskKilled, wantMsg: "Task killed: Command terminated with signal Killed"},
		{name: "killed, and exited when asked", res: sandbox.Result{ExitCode: 0, Reason: sandbox.ReasonKilled, Err: errors.New("command killed; it exited with code 0")},
			killed: true, wantState: api.TaskKilled, wantMsg: "Task killed"},
		{name: "killed, a Wasm task", res: sandbox.Result{ExitCode: -1, Reason: sandbox.ReasonKilled, Err: errors.New("module closed with context canceled")},
			killed: true, wantState: api.TaskKilled, wantMsg: "Task killed"},
		{name: "signal", res: sandbox.Result{ExitCode: -1, Signal: syscall.SIGSEGV, Reason: sandbox.ReasonSignaled, Err: errors.New("command died by signal segmentation fault")},
			wantState: api.TaskFailed, wantMsg: "Command terminated with signal Segmentation fault"},
		{name: "a signal without a name", res: sandbox.Result{ExitCode: -1, Signal: syscall.Signal(34), Reason: sandbox.ReasonSignaled, Err: errors.New("command died by signal signal 34")},
			wantState: api.TaskFailed, wantMsg: "Command terminated with signal 34"},
		{name: "signal named in capitals", res: sandbox.Result{ExitCode: -1, Signal: syscall.SIGXFSZ, Reason: sandbox.ReasonSignaled, Err: errors.New("command died by signal file size limit exceeded")},
			wantState: api.TaskFailed, wantMsg: "Command terminated with signal File size limit exceeded"},
		{name: "memory", res: sandbox.Result{Reason: sandbox.ReasonMemoryLimit, Err: errors.New("grew past 64 MiB")},
			wantState: api.TaskFailed, wantReason: api.ReasonContainerLimitationMemory, wantMsg: "Memory limit exceeded: grew past 64 MiB"},
		{name: "memory, OOM-killed", res: sandbox.Result{ExitCode: -1, Signal: syscall.SIGKILL, Reason: sandbox.ReasonMemoryLimit, Err: errors.New("the OOM killer killed 1 of its processes")},
			wantState: api.TaskFailed, wantReason: api.ReasonContainerLimitationMemory, wantMsg: "Memory limit exceeded: the OOM killer killed 1 of its processes"},
		{name: "launch", res: sandbox.Result{Reason: sandbox.ReasonLaunchFailed, Err: errors.New("missing import env.f")},
			wantState: api.TaskFailed, wantReason: api.ReasonContainerLaunchFailed, wantMsg: "missing import env.f"},
		{name: "cpu budget", res: sandbox.Result{Reason: sandbox.ReasonCPULimit, Err: errors.New("stopped after 50ms of CPU")},
			wantState: api.TaskFailed, wantReason: api.ReasonContainerLimitation, wantMsg: "CPU time limit exceeded: stopped after 50ms of CPU"},
		{name: "trap", res: sandbox.Result{Reason: sandbox.ReasonTrap, Err: errors.New("unreachable")},
			wantState: api.TaskFailed, wantMsg: "unreachable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			state, reason, msg := Outcome(tt.res, tt.killed)
			if state != tt.wantState || reason != tt.wantReason || msg != tt.wantMsg {
				t.Fatalf("outcome = %s, %q, %q; want %s, %q, %q", state, reason, msg, tt.wantState, tt.wantReason, tt.wantMsg)
			}
		})
	}
}

// TestExitLabel checks the labels that say how a task's process ended:
// its exit code when it exited, the signal's number when a signal ended
// it (whatever else the task's end is blamed on), neither otherwise.
func TestExitLabel(t *testing.T) {
	tests := []struct {
		name string
		res  sandbox.Result
		want map[string]string // nil: no labels
	}{
		{name: "exit 0", res: sandbox.Result{}, want: map[string]string{api.ExitCodeLabel: "0"}},
		{name: "exit 3", res: sandbox.Result{ExitCode: 3}, want: map[string]string{api.ExitCodeLabel: "3"}},
		{name: "signal", res: sandbox.Result{ExitCode: -1, Signal: syscall.SIGSEGV, Reason: sandbox.ReasonSignaled, Err: errors.New("died")},
			want: map[string]string{api.SignalLabel: "11"}},
		{name: "OOM kill", res: sandbox.Result{ExitCode: -1, Signal: syscall.SIGKILL, Reason: sandbox.ReasonMemoryLimit, Err: errors.New("oom")},
			want: map[string]string{api.SignalLabel: "9"}},
		{name: "CPU-time rlimit", res: sandbox.Result{ExitCode: -1, Signal: syscall.SIGXCPU, Reason: sandbox.ReasonCPULimit, Err: errors.New("cpu")},
			want: map[string]string{api.SignalLabel: "24"}},
		{name: "killed by SIGTERM", res: sandbox.Result{ExitCode: -1, Signal: syscall.SIGTERM, Reason: sandbox.ReasonKilled, Err: errors.New("killed")},
			want: map[string]string{api.SignalLabel: "15"}},
		{name: "killed, and exited when asked", res: sandbox.Result{ExitCode: 0, Reason: sandbox.ReasonKilled, Err: errors.New("killed")}},
		{name: "trap", res: sandbox.Result{ExitCode: -1, Reason: sandbox.ReasonTrap, Err: errors.New("unreachable")}},
		{name: "never ran", res: sandbox.Result{ExitCode: -1, Reason: sandbox.ReasonLaunchFailed, Err: errors.New("missing")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := ExitLabel(tt.res)
			var got map[string]string
			if l != nil {
				got = map[string]string{}
				for _, kv := range l.Labels {
					got[kv.Key] = kv.Value
				}
			}
			if !maps.Equal(got, tt.want) || (l != nil) != (tt.want != nil) {
				t.Fatalf("ExitLabel = %v, want %v", got, tt.want)
			}
		})
	}
}
