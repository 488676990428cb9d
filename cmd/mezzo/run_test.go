package main

import (
	"strings"
	"testing"

	"github.com/mezzo-cluster/mezzo/api"
)

// TestRunExitStatus checks what mezzo run exits with for a task's
// terminal update: the exit code the executor reports, 128 plus the
// signal that ended the task, as a shell reports a command's, and 1 for
// an end that says neither.
func TestRunExitStatus(t *testing.T) {
	labels := func(kv ...string) *api.Labels {
		l := &api.Labels{}
		for i := 0; i+1 < len(kv); i += 2 {
			l.Labels = append(l.Labels, api.Label{Key: kv[i], Value: kv[i+1]})
		}
		return l
	}
	tests := []struct {
		name   string
		status api.TaskStatus
		want   int    // 0: mezzo run exits successfully
		stderr string // "" when nothing is printed
	}{
		{
			name:   "finished",
			status: api.TaskStatus{State: api.TaskFinished, Message: "Command exited with status 0", Labels: labels(api.ExitCodeLabel, "0")},
		},
		{
			name:   "exit code",
			status: api.TaskStatus{State: api.TaskFailed, Message: "Command exited with status 3", Labels: labels(api.ExitCodeLabel, "3")},
			want:   3,
			stderr: "TASK_FAILED: Command exited with status 3\n",
		},
		{
			name:   "crash",
			status: api.TaskStatus{State: api.TaskFailed, Message: "Command terminated with signal Segmentation fault", Labels: labels(api.SignalLabel, "11")},
			want:   139,
			stderr: "TASK_FAILED: Command terminated with signal Segmentation fault\n",
		},
		{
			name: "OOM kill",
			status: api.TaskStatus{State: api.TaskFailed, Reason: api.ReasonContainerLimitationMemory,
				Message: "Memory limit exceeded: ...", Labels: labels(api.CPUSecondsLabel, "0.5", api.SignalLabel, "9")},
			want:   137,
			stderr: "TASK_FAILED: REASON_CONTAINER_LIMITATION_MEMORY: Memory limit exceeded: ...\n",
		},
		{
			name:   "killed by SIGTERM",
			status: api.TaskStatus{State: api.TaskKilled, Message: "Task killed: Command terminated with signal Terminated", Labels: labels(api.SignalLabel, "15")},
			want:   143,
			stderr: "TASK_KILLED: Task killed: Command terminated with signal Terminated\n",
		},
		{
			name:   "killed without a signal, as a Wasm task is",
			status: api.TaskStatus{State: api.TaskKilled, Message: "Task killed"},
			want:   1,
			stderr: "TASK_KILLED: Task killed\n",
		},
		{
			name:   "lost",
			status: api.TaskStatus{State: api.TaskLost, Reason: api.ReasonAgentRemoved, Message: "agent gone"},
			want:   1,
			stderr: "TASK_LOST: REASON_AGENT_REMOVED: agent gone\n",
		},
		{
			name:   "a signal label past what an exit status holds",
			status: api.TaskStatus{State: api.TaskFailed, Message: "m", Labels: labels(api.SignalLabel, "200")},
			want:   1,
			stderr: "TASK_FAILED: m\n",
		},
		{
			name:   "a signal label that is not a number",
			status: api.TaskStatus{State: api.TaskFailed, Message: "m", Labels: labels(api.SignalLabel, "SIGKILL")},
			want:   1,
			stderr: "TASK_FAILED: m\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr strings.Builder
			err := (&taskDone{status: tt.status}).exit(&stderr)
			got := 0
			if err != nil {
				var code exitCode
				if !asExit(err, &code) {
					t.Fatalf("exit = %v, want an exit code", err)
				}
				got = int(code)
			}
			if got != tt.want {
				t.Errorf("exit status %d, want %d", got, tt.want)
			}
			if stderr.String() != tt.stderr {
				t.Errorf("stderr %q, want %q", stderr.String(), tt.stderr)
			}
		})
	}
}
