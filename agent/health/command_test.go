//go:build linux

package health

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/sandbox"
)

func commandCheck(script string) *api.HealthCheck {
	return &api.HealthCheck{Type: "COMMAND", Command: &api.CommandInfo{Value: script}}
}

// pgidFile is where a test command writes its process group, the shell's
// pid.
const pgidFile = "pgid"

// testEnv is a task environment with a PATH.
var testEnv = map[string]string{"PATH": "/usr/local/bin:/usr/bin:/bin"}

func TestCommandHealth(t *testing.T) {
	tests := []struct {
		name    string
		script  string
		timeout float64
		healthy bool
		message string
	}{
		{name: "exit 0", script: "exit 0", timeout: 5, healthy: true, message: "status 0"},
		{name: "exit 1", script: "exit 1", timeout: 5, message: "status 1"},
		{name: "sandbox and environment", script: `test "$FOO" = bar && test "$(pwd)" = "$EXPECT_DIR"`, timeout: 5, healthy: true},
		{name: "timeout kills the group", script: "echo $$ > " + pgidFile + "; sleep 10 & sleep 10", timeout: 0.3, message: "timed out"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			hc := fast(commandCheck(tt.script), 1000)
			hc.TimeoutSeconds = sec(tt.timeout)
			hc.Command.Environment = &api.Environment{Variables: []api.EnvironmentVariable{{Name: "FOO", Value: "bar"}}}
			env := map[string]string{"PATH": testEnv["PATH"], "FOO": "overridden", "EXPECT_DIR": dir}
			r := startHealth(t, hc, Target{Dir: dir, Env: env}).next(t)
			if r.Healthy != tt.healthy || r.Kill {
				t.Fatalf("report = %+v, want healthy %v", r, tt.healthy)
			}
			if !strings.Contains(r.Message, tt.message) {
				t.Errorf("message %q does not mention %q", r.Message, tt.message)
			}
			if _, err := os.Stat(filepath.Join(dir, pgidFile)); err == nil {
				waitGroupGone(t, readPgid(t, dir))
			}
		})
	}
}

func TestCommandHealthArgv(t *testing.T) {
	hc := fast(&api.HealthCheck{Type: "COMMAND", Command: &api.CommandInfo{
		Shell: api.Ptr(false), Value: "test", Arguments: []string{"test", "-d", "."},
	}}, 1000)
	r := startHealth(t, hc, Target{Dir: t.TempDir(), Env: testEnv}).next(t)
	if !r.Healthy {
		t.Fatalf("report = %+v, want healthy", r)
	}
}

func TestCommandHealthKills(t *testing.T) {
	rec := startHealth(t, fast(commandCheck("exit 1"), 2), Target{Env: testEnv})
	if r := rec.next(t); r.Healthy || r.Kill || r.Consecutive != 1 {
		t.Fatalf("first report = %+v", r)
	}
	if r := rec.next(t); r.Healthy || !r.Kill || r.Consecutive != 2 {
		t.Fatalf("second report = %+v, want a kill", r)
	}
}

func TestStopDuringCommandLeavesNoProcess(t *testing.T) {
	dir := t.TempDir()
	hc := fast(commandCheck("echo $$ > "+pgidFile+".tmp; mv "+pgidFile+".tmp "+pgidFile+"; sleep 10 & sleep 10"), 3)
	hc.TimeoutSeconds = sec(60)
	rec := newRecorder()
	c, err := Start(t.Context(), hc, Target{Dir: dir, Env: testEnv}, Standing{}, rec.report)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the check to start", func() bool {
		_, err := os.Stat(filepath.Join(dir, pgidFile))
		return err == nil
	})
	pgid := readPgid(t, dir)
	eventually(t, "both sleeps", func() bool { return len(groupMembers(pgid)) >= 3 })
	c.Stop()
	// SIGKILL has been sent to the group; the kernel finishes it off.
	waitGroupGone(t, pgid)
	if p := rec.pending(); len(p) != 0 {
		t.Fatalf("reports from a stopped check: %+v", p)
	}
}

func TestGeneralCommandCheck(t *testing.T) {
	dir := t.TempDir()
	code := filepath.Join(dir, "code")
	count := filepath.Join(dir, "count")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(code+".tmp", []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(code+".tmp", code); err != nil {
			t.Fatal(err)
		}
	}
	checks := func() int {
		b, _ := os.ReadFile(count)
		return len(b)
	}
	write("3")
	ci := fastCheck(&api.CheckInfo{Type: "COMMAND", Command: &api.CheckCommand{
		Command: api.CommandInfo{Value: "printf x >> count; exit $(cat code)"},
	}})
	rec := startGeneral(t, ci, Target{Dir: dir, Env: testEnv})
	exitCode := func(r Result) int64 {
		t.Helper()
		if r.Kill || r.Check == nil || r.Check.Type != "COMMAND" || r.Check.Command == nil || r.Check.Command.ExitCode == nil {
			t.Fatalf("report = %+v, want a COMMAND check status with an exit code", r)
		}
		return int64(*r.Check.Command.ExitCode)
	}
	if c := exitCode(rec.next(t)); c != 3 {
		t.Fatalf("exit code = %d, want 3", c)
	}
	n := checks()
	eventually(t, "more checks", func() bool { return checks() >= n+5 })
	if p := rec.pending(); len(p) != 0 {
		t.Fatalf("repeated or kill reports: %+v", p)
	}
	write("0")
	if r := rec.next(t); exitCode(r) != 0 || !r.Healthy {
		t.Fatalf("report = %+v, want exit code 0", r)
	}
}

func TestGeneralCommandCheckTimeout(t *testing.T) {
	ci := fastCheck(&api.CheckInfo{Type: "COMMAND", Command: &api.CheckCommand{Command: api.CommandInfo{Value: "sleep 10"}}})
	ci.TimeoutSeconds = sec(0.2)
	r := startGeneral(t, ci, Target{Env: testEnv}).next(t)
	if r.Kill || r.Check == nil || r.Check.Command == nil || r.Check.Command.ExitCode != nil {
		t.Fatalf("report = %+v, want a COMMAND check status without an exit code", r)
	}
}

func readPgid(t *testing.T, dir string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, pgidFile))
	if err != nil {
		t.Fatal(err)
	}
	pgid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("pgid file: %v", err)
	}
	return pgid
}

// waitGroupGone waits until no live process is left in process group pgid.
func waitGroupGone(t *testing.T, pgid int) {
	t.Helper()
	eventually(t, "the process group to die", func() bool { return len(groupMembers(pgid)) == 0 })
}

// groupMembers lists the live (not zombie) processes of group pgid, from
// /proc: a killed orphan stays a zombie until init gets round to it.
func groupMembers(pgid int) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...; comm may hold spaces and parens.
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(f) < 3 || f[0] == "Z" || f[0] == "X" {
			continue
		}
		if g, _ := strconv.Atoi(f[2]); g == pgid {
			pids = append(pids, pid)
		}
	}
	return pids
}

// TestCommandHealthAsUser runs COMMAND checks as nobody, as the agent runs
// a task's checks as the task's user: the check has nobody's ids, and a
// file only root may read is out of its reach.
func TestCommandHealthAsUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("switching users needs root")
	}
	nobody, err := sandbox.LookupUser("nobody")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		script  string
		healthy bool
	}{
		{name: "runs as nobody", script: `test "$(id -u)" = 65534 && test "$(id -G)" = 65534`, healthy: true},
		{name: "cannot read root's file", script: "cat secret", healthy: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, d := range []string{dir, filepath.Dir(dir)} {
				if err := os.Chmod(d, 0o755); err != nil { // t.TempDir's are root's alone
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(filepath.Join(dir, "secret"), []byte("x"), 0o600); err != nil {
				t.Fatal(err)
			}
			r := startHealth(t, fast(commandCheck(tt.script), 1000), Target{Dir: dir, Env: testEnv, User: nobody}).next(t)
			if r.Healthy != tt.healthy {
				t.Fatalf("report = %+v, want healthy %v", r, tt.healthy)
			}
		})
	}
}
