//go:build linux

package sandbox

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestStartCommand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		spec   Spec // Dir is filled in
		c      CommandSpec
		setup  func(t *testing.T, dir string)
		code   int
		reason Reason
		signal syscall.Signal
		errHas []string
		stdout string // exact, unless check is set
		stderr string
		check  func(t *testing.T, dir string, r Result)
	}{
		{
			name:   "shell",
			c:      CommandSpec{Shell: true, Value: "echo out; echo err >&2; exit 3", Args: []string{"ignored"}},
			code:   3,
			stdout: "out\n",
			stderr: "err\n",
		},
		{
			name: "argv with its own argv[0]",
			c:    CommandSpec{Value: "/bin/sh", Args: []string{"zero", "-c", `tr '\0' ' ' </proc/$$/cmdline; echo "$0"`, "one"}},
			check: func(t *testing.T, dir string, r Result) {
				want := "zero -c tr '\\0' ' ' </proc/$$/cmdline; echo \"$0\" one one\n"
				if got := readFile(t, filepath.Join(dir, StdoutFile)); got != want {
					t.Errorf("stdout %q, want %q", got, want)
				}
			},
		},
		{
			name:   "executable looked up in the default PATH",
			c:      CommandSpec{Value: "echo", Args: []string{"echo", "a  b"}},
			stdout: "a  b\n",
		},
		{
			name:   "no Args means argv is Value",
			c:      CommandSpec{Value: "pwd"},
			stdout: "", // checked below
			check: func(t *testing.T, dir string, r Result) {
				if got := readFile(t, filepath.Join(dir, StdoutFile)); got != dir+"\n" {
					t.Errorf("pwd printed %q, want %q", got, dir)
				}
			},
		},
		{
			name:   "environment is exactly Env plus the default PATH",
			spec:   Spec{Env: map[string]string{"FOO": "bar baz", "EMPTY": ""}},
			c:      CommandSpec{Value: "/usr/bin/env"},
			stdout: "EMPTY=\nFOO=bar baz\nPATH=" + DefaultPath + "\n",
		},
		{
			name:   "PATH from Env",
			spec:   Spec{Env: map[string]string{"PATH": "/nowhere:/bin"}},
			c:      CommandSpec{Value: "env"},
			stdout: "PATH=/nowhere:/bin\n",
		},
		{
			name: "relative executable runs from the sandbox",
			setup: func(t *testing.T, dir string) {
				if err := os.WriteFile(filepath.Join(dir, "run.sh"), []byte("#!/bin/sh\necho ran \"$@\"\n"), 0o755); err != nil {
					t.Fatal(err)
				}
			},
			c:      CommandSpec{Value: "./run.sh", Args: []string{"run.sh", "x"}},
			stdout: "ran x\n",
		},
		{
			name: "output is appended",
			setup: func(t *testing.T, dir string) {
				write(t, filepath.Join(dir, StdoutFile), "before\n")
			},
			c:      CommandSpec{Shell: true, Value: "echo after"},
			stdout: "before\nafter\n",
		},
		{
			name:   "missing executable fails the launch",
			c:      CommandSpec{Value: "no-such-command-here"},
			code:   -1,
			reason: ReasonLaunchFailed,
			errHas: []string{`executable "no-such-command-here" not found`},
		},
		{
			name: "file that is not executable fails the launch",
			setup: func(t *testing.T, dir string) {
				write(t, filepath.Join(dir, "data"), "data")
			},
			c:      CommandSpec{Value: "./data"},
			code:   -1,
			reason: ReasonLaunchFailed,
			errHas: []string{"permission denied"},
		},
		{
			name:   "death by a signal Kill did not send",
			c:      CommandSpec{Shell: true, Value: "kill -SEGV $$"},
			code:   -1,
			reason: ReasonSignaled,
			signal: syscall.SIGSEGV,
			errHas: []string{"died by signal segmentation fault"},
		},
		{
			name:   "death by SIGTERM from itself",
			c:      CommandSpec{Shell: true, Value: "kill -TERM $$"},
			code:   -1,
			reason: ReasonSignaled,
			signal: syscall.SIGTERM,
			errHas: []string{"died by signal terminated"},
		},
		{
			name:   "death by SIGKILL from itself, as an OOM kill ends a task",
			c:      CommandSpec{Shell: true, Value: "kill -KILL $$"},
			code:   -1,
			reason: ReasonSignaled,
			signal: syscall.SIGKILL,
			errHas: []string{"died by signal killed"},
		},
		{
			name: "an exit code past 128 is an exit, not a signal",
			c:    CommandSpec{Shell: true, Value: "exit 137"},
			code: 137,
		},
		{
			name:   "usage",
			c:      CommandSpec{Shell: true, Value: "i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done"},
			stdout: "",
			check: func(t *testing.T, dir string, r Result) {
				if r.Usage.CPUSeconds <= 0 || r.Usage.PeakMemoryBytes == 0 {
					t.Errorf("usage %+v", r.Usage)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := sandboxDir(t)
			if tt.setup != nil {
				tt.setup(t, dir)
			}
			spec := tt.spec
			spec.Dir = dir
			p, err := StartCommand(context.Background(), spec, tt.c)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := Started(p), tt.reason != ReasonLaunchFailed; got != want {
				t.Errorf("Started = %v, want %v", got, want)
			}
			r := wait(t, p)
			checkResult(t, r, tt.code, tt.reason, tt.errHas...)
			if r.Signal != tt.signal {
				t.Errorf("signal %d (%v), want %d (%v)", int(r.Signal), r.Signal, int(tt.signal), tt.signal)
			}
			if tt.check != nil {
				tt.check(t, dir, r)
			} else if tt.reason != ReasonLaunchFailed {
				if got := readFile(t, filepath.Join(dir, StdoutFile)); got != tt.stdout {
					t.Errorf("stdout %q, want %q", got, tt.stdout)
				}
				if got := readFile(t, filepath.Join(dir, StderrFile)); got != tt.stderr {
					t.Errorf("stderr %q, want %q", got, tt.stderr)
				}
			}
			if again := p.Wait(); again != r {
				t.Errorf("second Wait = %+v, first %+v", again, r)
			}
			p.Kill(0) // after the end: does nothing
		})
	}
}

func TestStartCommandRefuses(t *testing.T) {
	t.Parallel()
	dir := sandboxDir(t)
	tests := []struct {
		name string
		spec Spec
		c    CommandSpec
	}{
		{"no directory", Spec{}, CommandSpec{Value: "true"}},
		{"missing directory", Spec{Dir: filepath.Join(dir, "nope")}, CommandSpec{Value: "true"}},
		{"empty value", Spec{Dir: dir}, CommandSpec{}},
		{"NUL in an argument", Spec{Dir: dir}, CommandSpec{Value: "true", Args: []string{"a\x00"}}},
		{"bad env name", Spec{Dir: dir, Env: map[string]string{"": "x"}}, CommandSpec{Value: "true"}},
		{"unknown isolation", Spec{Dir: dir, Isolation: "auto"}, CommandSpec{Value: "true"}},
	}
	for _, tt := range tests {
		if p, err := StartCommand(context.Background(), tt.spec, tt.c); err == nil {
			t.Errorf("%s: StartCommand = %v, nil; want an error", tt.name, p)
		}
	}
}

// TestCommandKill kills process groups and checks that nothing of them is
// left.
func TestCommandKill(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		script string
		grace  time.Duration
		signal syscall.Signal // that ended the leader
	}{
		{
			name:   "group with a child",
			script: "sleep 1000 & sleep 1000",
			grace:  time.Hour,
			signal: syscall.SIGTERM,
		},
		{
			name:   "SIGTERM ignored: escalates to SIGKILL after grace",
			script: `trap "" TERM; sleep 1000 & sleep 1000`,
			grace:  100 * time.Millisecond,
			signal: syscall.SIGKILL,
		},
		{
			name:   "leader dies, child ignores SIGTERM and gets SIGKILL after grace",
			script: `(trap "" TERM; sleep 1000) & sleep 1000`,
			grace:  100 * time.Millisecond,
			signal: syscall.SIGTERM,
		},
		{
			name:   "no grace",
			script: "sleep 1000 & sleep 1000",
			signal: syscall.SIGKILL,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := StartCommand(context.Background(), Spec{Dir: sandboxDir(t)},
				CommandSpec{Shell: true, Value: tt.script})
			if err != nil {
				t.Fatal(err)
			}
			pid := p.(*commandProcess).pid
			// Kill only once the group is formed, so that the test is of
			// killing a group, not of killing a shell before it forks.
			eventually(t, "children started", func() bool { return countGroup(pid) >= 2 })
			p.Kill(tt.grace)
			p.Kill(time.Hour) // a longer grace does not lengthen the first
			r := wait(t, p)
			checkResult(t, r, -1, ReasonKilled, "killed by signal "+tt.signal.String())
			if r.Signal != tt.signal {
				t.Errorf("signal %d (%v), want %d (%v)", int(r.Signal), r.Signal, int(tt.signal), tt.signal)
			}
			eventually(t, "group gone", func() bool { return countGroup(pid) == 0 })
		})
	}
}

// TestCommandKillShortens kills a task that ignores SIGTERM with an
// hour's grace, then again with a shorter one: the second shortens the
// first, so SIGKILL comes long before the hour is up.
func TestCommandKillShortens(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		grace time.Duration // of the second Kill
	}{
		{name: "to none", grace: 0},
		{name: "to a shorter grace", grace: 50 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := StartCommand(context.Background(), Spec{Dir: sandboxDir(t)},
				CommandSpec{Shell: true, Value: `trap "" TERM; sleep 1000 & sleep 1000`})
			if err != nil {
				t.Fatal(err)
			}
			pid := p.(*commandProcess).pid
			eventually(t, "children started", func() bool { return countGroup(pid) >= 2 })
			p.Kill(time.Hour)
			p.Kill(tt.grace)
			// Generous: this bounds the wait, and times nothing.
			r, ok := waitFor(p, 20*time.Second)
			if !ok {
				t.Fatal("the task still runs 20 s after Kill: the second Kill did not shorten the hour's grace")
			}
			checkResult(t, r, -1, ReasonKilled, "killed by signal killed")
			eventually(t, "group gone", func() bool { return countGroup(pid) == 0 })
		})
	}
}

// waitFor waits up to d for p to end and reports whether it did.
func waitFor(p Process, d time.Duration) (Result, bool) {
	ch := make(chan Result, 1)
	go func() { ch <- p.Wait() }()
	select {
	case r := <-ch:
		return r, true
	case <-time.After(d):
		return Result{}, false
	}
}

func TestCommandKillGraceful(t *testing.T) {
	t.Parallel()
	p, err := StartCommand(context.Background(), Spec{Dir: sandboxDir(t)},
		CommandSpec{Shell: true, Value: `trap "echo bye; exit 0" TERM; echo ready; while :; do sleep 0.01; done`})
	if err != nil {
		t.Fatal(err)
	}
	dir := p.(*commandProcess).cmd.Dir
	eventually(t, "ready", func() bool {
		b, _ := os.ReadFile(filepath.Join(dir, StdoutFile))
		return strings.Contains(string(b), "ready")
	})
	p.Kill(time.Hour)
	r := wait(t, p)
	checkResult(t, r, 0, ReasonKilled, "command killed; it exited with code 0")
	contains(t, "stdout", readFile(t, filepath.Join(dir, StdoutFile)), "bye")
}

// TestCommandLeftovers checks that what a task leaves in its group when it
// exits is killed.
func TestCommandLeftovers(t *testing.T) {
	t.Parallel()
	p, err := StartCommand(context.Background(), Spec{Dir: sandboxDir(t)},
		CommandSpec{Shell: true, Value: "sleep 1000 & sleep 0.1"})
	if err != nil {
		t.Fatal(err)
	}
	pid := p.(*commandProcess).pid
	checkResult(t, wait(t, p), 0, ReasonNone)
	eventually(t, "group gone", func() bool { return countGroup(pid) == 0 })
}

func TestCommandUsage(t *testing.T) {
	t.Parallel()
	p, err := StartCommand(context.Background(), Spec{Dir: sandboxDir(t)},
		CommandSpec{Shell: true, Value: "while :; do :; done"})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "CPU time counted", func() bool { return p.Usage().CPUSeconds >= 0.05 })
	if u := p.Usage(); u.PeakMemoryBytes == 0 {
		t.Errorf("usage %+v", u)
	}
	p.Kill(0)
	r := wait(t, p)
	checkResult(t, r, -1, ReasonKilled)
	if r.Usage.CPUSeconds < 0.05 {
		t.Errorf("usage %+v", r.Usage)
	}
}

// countGroup counts the live processes in process group pgid.
func countGroup(pgid int) int {
	n := 0
	names, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, name := range names {
		f := statFields(name)
		if len(f) > 2 && f[2] == strconv.Itoa(pgid) && f[0] != "Z" {
			n++
		}
	}
	return n
}

// BenchmarkStartCommand starts a native task as this machine would by
// itself (auto), and under rlimits with a memory cap, which costs the
// re-executed init.
func BenchmarkStartCommand(b *testing.B) {
	for _, bb := range []struct {
		name string
		spec Spec
	}{
		{"auto", Spec{}},
		{"rlimits", Spec{Isolation: IsolationRlimits, MemoryBytes: 64 << 20}},
	} {
		b.Run(bb.name, func(b *testing.B) {
			spec := bb.spec
			spec.Dir = b.TempDir()
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				p, err := StartCommand(ctx, spec, CommandSpec{Value: "/bin/true"})
				if err != nil {
					b.Fatal(err)
				}
				if r := p.Wait(); r.Err != nil || r.ExitCode != 0 {
					b.Fatal(r)
				}
			}
		})
	}
}

// BenchmarkExecCommand is the baseline for BenchmarkStartCommand: a bare
// fork, exec and wait.
func BenchmarkExecCommand(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if err := exec.Command("/bin/true").Run(); err != nil {
			b.Fatal(err)
		}
	}
}
