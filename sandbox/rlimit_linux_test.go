package sandbox

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// rlimitsChild is the environment variable that makes the test binary
// run one of TestRlimits's over-cap subtests itself, as a child process
// of TestRlimits (see runSubtestInChild).
const rlimitsChild = "SANDBOX_TEST_RLIMITS_CHILD"

// TestRlimits runs native tasks under IsolationRlimits, which this
// machine would not pick by itself when it has cgroups: the limits are in
// place before the task runs, a task over its memory or CPU-time cap ends
// with the cap's reason, and one within them ends as it would anyway.
//
// A task over its memory cap is told by its peak resident memory near
// the cap, and without a cgroup that peak is known only above the
// resident memory of the process that started the task, which the
// kernel folds into the task's ru_maxrss when the task's first process
// execs (see taskPeak and resetPeakRSS). This test binary's is no such
// bound: its parallel tests, and the race detector's shadow memory, can
// take it past a GiB. So the over-cap subtests run in a child process of
// it that starts nothing else, which holds a few tens of MiB, far below
// their cap; one first raises that child's peak past the cap, as an
// executor's after a large task.
func TestRlimits(t *testing.T) {
	t.Parallel()
	inChild := os.Getenv(rlimitsChild) != ""
	tests := []struct {
		name   string
		spec   Spec
		c      CommandSpec
		setup  func(t *testing.T, dir string)
		code   int
		reason Reason
		signal syscall.Signal
		errHas []string
		stdout []string // substrings of stdout
		check  func(t *testing.T, r Result)
	}{
		{
			name: "limits set before the task runs",
			spec: Spec{MemoryBytes: 64 << 20, CPUTime: 1500 * time.Millisecond},
			c:    CommandSpec{Shell: true, Value: "grep -E 'Max (data size|cpu time)' /proc/self/limits"},
			stdout: []string{
				"Max cpu time              2                    3                    seconds",
				"Max data size             67108864             67108864             bytes",
			},
		},
		{
			name:   "under the memory cap",
			spec:   Spec{MemoryBytes: 64 << 20},
			c:      CommandSpec{Shell: true, Value: "head -c 8m /dev/zero | tail -c 1 | wc -c"},
			stdout: []string{"1\n"},
		},
		{
			name: "a small task's peak memory is its own, not the init's",
			spec: Spec{MemoryBytes: 64 << 20},
			c:    CommandSpec{Value: "true"},
			check: func(t *testing.T, r Result) {
				// true may be gone before its peak is read: 0 is possible.
				if r.Usage.PeakMemoryBytes >= 8<<20 {
					t.Errorf("peak memory %d, want true's own, far below the caller's and the init's", r.Usage.PeakMemoryBytes)
				}
			},
		},
		{
			name:   "argv and environment reach the task",
			spec:   Spec{MemoryBytes: 64 << 20, Env: map[string]string{"GREETING": "hi"}},
			c:      CommandSpec{Value: "sh", Args: []string{"zero", "-c", `echo "$0 $GREETING"; tr '\0' ' ' </proc/$$/cmdline`, "one"}},
			stdout: []string{"one hi\nzero -c "},
		},
		// Over-cap tasks run in a child process of this test binary (see
		// above).
		{
			name:   "the leader over the memory cap",
			spec:   Spec{MemoryBytes: 256 << 20},
			c:      CommandSpec{Shell: true, Value: "exec tail /dev/zero"}, // tail keeps the unending line
			code:   1,
			reason: ReasonMemoryLimit,
			errHas: []string{"memory limit of 268435456 bytes (256 MiB)", "RLIMIT_DATA", "exited with code 1"},
		},
		{
			name:   "over the memory cap after the caller's own peak passed it",
			spec:   Spec{MemoryBytes: 256 << 20},
			setup:  func(t *testing.T, _ string) { raisePeakRSS(t, 512<<20) },
			c:      CommandSpec{Shell: true, Value: "exec tail /dev/zero"},
			code:   1,
			reason: ReasonMemoryLimit,
			errHas: []string{"RLIMIT_DATA"},
		},
		{
			name:   "a child over the memory cap",
			spec:   Spec{MemoryBytes: 256 << 20},
			c:      CommandSpec{Shell: true, Value: "head -c 1G /dev/zero | tail"},
			code:   1,
			reason: ReasonMemoryLimit,
			errHas: []string{"RLIMIT_DATA"},
		},
		{
			name: "a failure far below the memory cap is the task's own",
			spec: Spec{MemoryBytes: 256 << 20},
			c:    CommandSpec{Shell: true, Value: "exit 3"},
			code: 3,
		},
		{
			name:   "over the CPU-time cap",
			spec:   Spec{CPUTime: time.Second},
			c:      CommandSpec{Shell: true, Value: "while :; do :; done"},
			code:   -1,
			reason: ReasonCPULimit,
			signal: syscall.SIGXCPU,
			errHas: []string{"CPU time limit of 1 s", "RLIMIT_CPU"},
		},
		{
			name:   "over the hard CPU-time cap, SIGXCPU ignored",
			spec:   Spec{CPUTime: time.Second},
			c:      CommandSpec{Shell: true, Value: "trap '' XCPU; while :; do :; done"},
			code:   -1,
			reason: ReasonCPULimit,
			signal: syscall.SIGKILL,
			errHas: []string{"RLIMIT_CPU", "killed by signal killed"},
		},
		{
			name: "an executable the init cannot exec fails the launch",
			spec: Spec{MemoryBytes: 64 << 20},
			setup: func(t *testing.T, dir string) {
				write(t, filepath.Join(dir, "data"), "data")
			},
			c:      CommandSpec{Value: "./data"},
			code:   -1,
			reason: ReasonLaunchFailed,
			errHas: []string{"rlimit init: exec ./data", "permission denied"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if tt.reason == ReasonMemoryLimit && !inChild {
				runSubtestInChild(t, rlimitsChild)
				return
			}
			dir := sandboxDir(t)
			if tt.setup != nil {
				tt.setup(t, dir)
			}
			spec := tt.spec
			spec.Dir, spec.Isolation = dir, IsolationRlimits
			p, err := StartCommand(context.Background(), spec, tt.c)
			if err != nil {
				t.Fatal(err)
			}
			r := wait(t, p)
			checkResult(t, r, tt.code, tt.reason, tt.errHas...)
			if r.Signal != tt.signal {
				t.Errorf("signal %d (%v), want %d (%v)", int(r.Signal), r.Signal, int(tt.signal), tt.signal)
			}
			out := readFile(t, filepath.Join(dir, StdoutFile))
			contains(t, "stdout", out, tt.stdout...)
			if tt.check != nil {
				tt.check(t, r)
			}
			if lim := tt.spec.MemoryBytes; tt.reason == ReasonMemoryLimit && r.Usage.PeakMemoryBytes < lim-lim/16 {
				t.Errorf("peak memory %d, want about the %d cap (the process that started the task has had a peak of %d)",
					r.Usage.PeakMemoryBytes, lim, peakRSS(t))
			}
			if tt.reason == ReasonNone && strings.Contains(readFile(t, filepath.Join(dir, StderrFile)), "rlimit init") {
				t.Errorf("the init complained: %s", readFile(t, filepath.Join(dir, StderrFile)))
			}
		})
	}
}

// raisePeakRSS makes this process's peak resident memory at least n
// bytes, then gives the memory back: an executor that ran a large task
// before.
func raisePeakRSS(t *testing.T, n int) {
	t.Helper()
	b, err := unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(b); i += os.Getpagesize() {
		b[i] = 1
	}
	if err := unix.Munmap(b); err != nil {
		t.Fatal(err)
	}
	if after := peakRSS(t); after < uint64(n) {
		t.Fatalf("peak resident memory %d after touching %d bytes, want at least that", after, n)
	}
}

// runSubtestInChild runs the test t in a child process of the test
// binary, with the environment variable env set to 1, and fails t if it
// fails or does not run there.
func runSubtestInChild(t *testing.T, env string) {
	t.Helper()
	var run []string
	for _, name := range strings.Split(t.Name(), "/") {
		run = append(run, "^"+regexp.QuoteMeta(name)+"$")
	}
	cmd := exec.Command(os.Args[0], "-test.run="+strings.Join(run, "/"), "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), env+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("in a child process: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "--- PASS: "+t.Name()+" (") {
		t.Fatalf("the child process did not run %s:\n%s", t.Name(), out)
	}
}

// TestRlimitsKilled checks that a task killed under rlimits ends as
// killed, not as over a cap.
func TestRlimitsKilled(t *testing.T) {
	t.Parallel()
	dir := sandboxDir(t)
	p, err := StartCommand(context.Background(), Spec{Dir: dir, Isolation: IsolationRlimits, MemoryBytes: 32 << 20, CPUTime: time.Hour},
		CommandSpec{Shell: true, Value: "exec sleep 1000"})
	if err != nil {
		t.Fatal(err)
	}
	p.Kill(0)
	checkResult(t, wait(t, p), -1, ReasonKilled, "killed by signal killed")
}

// TestRlimitsNoCgroup checks that a task under IsolationRlimits is in no
// task cgroup, and that IsolationCgroups puts it in one.
func TestRlimitsNoCgroup(t *testing.T) {
	t.Parallel()
	if _, err := CgroupsAvailable(); err != nil {
		t.Logf("no cgroups here (%v): only the rlimits case is checked", err)
	}
	for _, iso := range []Isolation{IsolationRlimits, IsolationCgroups} {
		t.Run(iso.String(), func(t *testing.T) {
			t.Parallel()
			dir := sandboxDir(t)
			p, err := StartCommand(context.Background(), Spec{Dir: dir, Isolation: iso, MemoryBytes: 64 << 20},
				CommandSpec{Shell: true, Value: "cat /proc/self/cgroup"})
			if err != nil {
				t.Fatal(err)
			}
			r := wait(t, p)
			if _, err := CgroupsAvailable(); err != nil && iso == IsolationCgroups {
				checkResult(t, r, -1, ReasonLaunchFailed, "isolation cgroups")
				return
			}
			checkResult(t, r, 0, ReasonNone)
			got := strings.Contains(readFile(t, filepath.Join(dir, StdoutFile)), "/task-")
			if want := iso == IsolationCgroups; got != want {
				t.Errorf("in a task cgroup: %v, want %v:\n%s", got, want, readFile(t, filepath.Join(dir, StdoutFile)))
			}
		})
	}
}

func TestParseIsolation(t *testing.T) {
	tests := []struct {
		in   string
		want Isolation
		err  string
	}{
		{in: "", want: IsolationAuto},
		{in: "auto", want: IsolationAuto},
		{in: "cgroups", want: IsolationCgroups},
		{in: "rlimits", want: IsolationRlimits},
		{in: "Rlimits", err: `native isolation "Rlimits" is not one of auto, cgroups, rlimits`},
		{in: "none", err: `native isolation "none" is not one of auto, cgroups, rlimits`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseIsolation(tt.in)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("ParseIsolation(%q) = %q, %v; want error %q", tt.in, got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseIsolation(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
			if back, _ := ParseIsolation(got.String()); back != got {
				t.Errorf("%q.String() = %q does not parse back", got, got.String())
			}
		})
	}
}

// TestInitRefuses checks the init's answer to arguments StartCommand
// never passes; it fails before it changes anything.
func TestInitRefuses(t *testing.T) {
	tests := []struct {
		name string
		args []string
		err  string
	}{
		{"too few", []string{initArg0, "0", "0", "/bin/true"}, "want mezzo-rlimit-init DATA CPU PATH ARGV..., got 4 arguments"},
		{"bad data", []string{initArg0, "lots", "0", "/bin/true", "true"}, `data limit: strconv.ParseUint: parsing "lots": invalid syntax`},
		{"bad cpu", []string{initArg0, "0", "-1", "/bin/true", "true"}, `cpu limit: strconv.ParseUint: parsing "-1": invalid syntax`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := runInit(tt.args, nil); err == nil || err.Error() != tt.err {
				t.Errorf("runInit = %v, want %q", err, tt.err)
			}
		})
	}
	if !IsInit([]string{initArg0}) || IsInit([]string{"mezzo"}) || IsInit(nil) {
		t.Error("IsInit does not recognize exactly the init's argv[0]")
	}
}

// TestTaskPeak checks how a task's peak is told from its init's, which
// the kernel folds into the task's ru_maxrss.
func TestTaskPeak(t *testing.T) {
	tests := []struct {
		name                  string
		maxRSS, initRSS, seen uint64
		want                  uint64
	}{
		{"the task went past the init", 40 << 20, 16 << 20, 30 << 20, 40 << 20},
		{"the task stayed below the init", 16 << 20, 16 << 20, 2 << 20, 2 << 20},
		{"within the init's last pages", 16<<20 + 1<<20, 16 << 20, 1 << 20, 1 << 20},
		{"no init peak known", 3 << 20, 0, 1 << 20, 3 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := taskPeak(tt.maxRSS, tt.initRSS, tt.seen); got != tt.want {
				t.Errorf("taskPeak(%d, %d, %d) = %d, want %d", tt.maxRSS, tt.initRSS, tt.seen, got, tt.want)
			}
		})
	}
}

// TestAwaitExec reads what an init may write on its status pipe.
func TestAwaitExec(t *testing.T) {
	tests := []struct {
		name  string
		wrote string
		rss   uint64
		err   string
	}{
		{"exec succeeded", "rss 1048576\n", 1 << 20, ""},
		{"exec failed", "rss 1048576\nrlimit init: exec ./x: permission denied", 0, "rlimit init: exec ./x: permission denied"},
		{"failed before its exec", "rlimit init: data limit: bad", 0, "rlimit init: data limit: bad"},
		{"died without a word", "", 0, "rlimit init: exited before its exec"},
		{"garbled peak", "rss lots\n", 0, `read from the rlimit init: strconv.ParseUint: parsing "lots": invalid syntax`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if _, err := w.WriteString(tt.wrote); err != nil {
				t.Fatal(err)
			}
			w.Close()
			rss, err := awaitExec(r)
			if rss != tt.rss || (err == nil) != (tt.err == "") || err != nil && err.Error() != tt.err {
				t.Errorf("awaitExec = %d, %v; want %d, %q", rss, err, tt.rss, tt.err)
			}
		})
	}
}

// TestCPUTimeNative gives a native task a CPU-time budget under the
// isolation this machine picks by itself: in a cgroup the budget is
// still an RLIMIT_CPU, set by the init, and a busy task ends with
// ReasonCPULimit either way.
func TestCPUTimeNative(t *testing.T) {
	t.Parallel()
	v, err := CgroupsAvailable()
	t.Logf("cgroups: %q (%v)", v, err)
	dir := sandboxDir(t)
	p, err := StartCommand(context.Background(), Spec{Dir: dir, CPUTime: time.Second, MemoryBytes: 64 << 20},
		CommandSpec{Shell: true, Value: "grep 'Max cpu time' /proc/self/limits; while :; do :; done"})
	if err != nil {
		t.Fatal(err)
	}
	checkResult(t, wait(t, p), -1, ReasonCPULimit, "CPU time limit of 1 s", "RLIMIT_CPU", "killed by signal CPU time limit exceeded")
	contains(t, "stdout", readFile(t, filepath.Join(dir, StdoutFile)), "Max cpu time              1                    2                    seconds")
}

// TestInitExecsUnderTightCap starts tasks whose memory cap is far below
// the init's own data size (tens of MiB: Go's heap arenas, its metadata,
// thread stacks) with an environment of 1.9 MiB, which the init copies
// into NUL-terminated strings for execve. Were it to copy them, or to
// allocate at all, after setting RLIMIT_DATA, the copy would outgrow the
// heap the init has mapped and its runtime would die asking the kernel
// for more ("fatal error: runtime: cannot allocate memory", exit 2). The
// task, /bin/true, needs far less than the cap: its environment is on
// its stack, which RLIMIT_DATA does not count. The init that copied them
// after the limits (syscall.Exec) failed 21 of 30 such starts.
func TestInitExecsUnderTightCap(t *testing.T) {
	t.Parallel()
	env := make(map[string]string)
	for i := range 19 {
		env[fmt.Sprintf("BULK%d", i)] = strings.Repeat("x", 100<<10)
	}
	for i := range 10 {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			dir := sandboxDir(t)
			p, err := StartCommand(context.Background(), Spec{Dir: dir, Isolation: IsolationRlimits, MemoryBytes: 4 << 20, Env: env},
				CommandSpec{Value: "/bin/true"})
			if err != nil {
				t.Fatal(err)
			}
			r := wait(t, p)
			if r.ExitCode != 0 || r.Err != nil {
				t.Errorf("exit code %d, err %v; stderr:\n%.2000s", r.ExitCode, r.Err, readFile(t, filepath.Join(dir, StderrFile)))
			}
		})
	}
}

// TestRlimitsNofile checks that a task started through the rlimit init
// has the soft RLIMIT_NOFILE a task started without it has: the one
// os/exec gives the children of this process (see restoreNofile), not
// the one the init's Go start-up raised it to. This process's soft limit
// is lowered first, so that the init has one to raise; not in parallel
// with other tests, whose children would get it.
func TestRlimitsNofile(t *testing.T) {
	var orig syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &orig); err != nil {
		t.Fatal(err)
	}
	if orig.Max < 64 {
		t.Skipf("hard RLIMIT_NOFILE %d leaves no room to lower the soft one", orig.Max)
	}
	low := syscall.Rlimit{Cur: min(1000, orig.Max/2), Max: orig.Max}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &orig); err != nil {
			t.Errorf("restore RLIMIT_NOFILE: %v", err)
		}
	})
	want := fmt.Sprintf("Max open files            %-20d %-20d files", low.Cur, low.Max)
	specs := map[string]Spec{
		"rlimits":               {Isolation: IsolationRlimits, MemoryBytes: 64 << 20},
		"rlimits, CPU time":     {Isolation: IsolationRlimits, CPUTime: time.Hour},
		"no cap, no init":       {Isolation: IsolationRlimits},
		"auto, CPU time (init)": {CPUTime: time.Hour},
	}
	if _, err := CgroupsAvailable(); err == nil {
		specs["cgroups"] = Spec{Isolation: IsolationCgroups, MemoryBytes: 64 << 20}
	}
	for name, spec := range specs {
		t.Run(name, func(t *testing.T) {
			spec.Dir = sandboxDir(t)
			p, err := StartCommand(context.Background(), spec, CommandSpec{Value: "grep", Args: []string{"grep", "Max open files", "/proc/self/limits"}})
			if err != nil {
				t.Fatal(err)
			}
			checkResult(t, wait(t, p), 0, ReasonNone)
			contains(t, "stdout", readFile(t, filepath.Join(spec.Dir, StdoutFile)), want)
		})
	}
}
