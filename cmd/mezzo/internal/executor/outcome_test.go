package executor

import (
	"errors"
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
		{name: "killed", res: sandbox.Result{ExitCode: -1, Signal: syscall.SIGTERM, Reason: sandbox.ReasonKilled}, killed: true,
			wantState: api.TaskKilled, wantMsg: "Task killed"},
		{name: "signal", res: sandbox.Result{ExitCode: -1, Signal: syscall.SIGSEGV}, wantState: api.TaskFailed,
			wantMsg: "Command terminated with signal segmentation fault"},
		{name: "memory", res: sandbox.Result{Reason: sandbox.ReasonMemoryLimit, Err: errors.New("grew past 64 MiB")},
			wantState: api.TaskFailed, wantReason: api.ReasonContainerLimitationMemory, wantMsg: "Memory limit exceeded: grew past 64 MiB"},
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

func TestExitLabel(t *testing.T) {
	if l := ExitLabel(sandbox.Result{ExitCode: 3}); l == nil || l.Labels[0].Key != api.ExitCodeLabel || l.Labels[0].Value != "3" {
		t.Fatalf("ExitLabel(exit 3) = %+v", l)
	}
	if l := ExitLabel(sandbox.Result{ExitCode: -1, Signal: syscall.SIGKILL}); l != nil {
		t.Fatalf("a task killed by a signal has no exit code label, got %+v", l)
	}
}
