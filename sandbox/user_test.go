//go:build linux

package sandbox

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// asRoot skips tests that switch users unless the test runs as root (as
// CI does).
func asRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("switching users needs root")
	}
}

func TestLookupUser(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		user    string
		uid     uint32
		wantErr string
	}{
		{name: "nobody", user: "nobody", uid: 65534},
		{name: "root", user: "root", uid: 0},
		{name: "unknown", user: "no-such-user-mezzo", wantErr: `user "no-such-user-mezzo" does not exist on this host`},
		{name: "empty", user: "", wantErr: "the user name is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := LookupUser(tt.user)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("LookupUser(%q) = %v, %v; want error containing %q", tt.user, u, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if u.UID != tt.uid || u.Name != tt.user {
				t.Errorf("LookupUser(%q) = %+v, want uid %d", tt.user, u, tt.uid)
			}
		})
	}
}

// TestStartCommandAsUser runs a task as nobody: it has nobody's ids and
// none of root's groups, and writes in its sandbox only once the sandbox
// is its own.
func TestStartCommandAsUser(t *testing.T) {
	asRoot(t)
	t.Parallel()
	nobody, err := LookupUser("nobody")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		chown  bool
		script string
		code   int
		stdout string
	}{
		{name: "ids", chown: true, script: "id -u; id -g; id -G", stdout: "65534\n65534\n65534\n"},
		{name: "writes its own sandbox", chown: true, script: "echo hi > note && cat note", stdout: "hi\n"},
		{name: "cannot write a sandbox that is not its own", script: "echo hi > note", code: 2},
		{name: "cannot read root's files", chown: true, script: "cat secret", code: 1},
	}
	// Under rlimits the init starts as the user too, before its exec.
	for _, iso := range []Isolation{IsolationAuto, IsolationRlimits} {
		for _, tt := range tests {
			t.Run(iso.String()+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				runAsNobody(t, nobody, Spec{Isolation: iso, MemoryBytes: 256 << 20}, tt.chown, tt.script, tt.code, tt.stdout)
			})
		}
	}
}

// runAsNobody runs script as nobody with spec in a sandbox holding a file
// of root's, secret, giving both to nobody when chown is set, and checks
// its exit code and stdout (unless stdout is empty).
func runAsNobody(t *testing.T, nobody *User, spec Spec, chown bool, script string, code int, stdout string) {
	t.Helper()
	dir := reachableSandbox(t)
	if err := os.WriteFile(filepath.Join(dir, "secret"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if chown {
		if err := nobody.Chown(dir, "secret"); err != nil {
			t.Fatal(err)
		}
	}
	spec.Dir, spec.User = dir, nobody
	p, err := StartCommand(context.Background(), spec, CommandSpec{Shell: true, Value: script})
	if err != nil {
		t.Fatal(err)
	}
	r := wait(t, p)
	if r.ExitCode != code {
		t.Errorf("exit code %d, want %d (%v; stderr %q)", r.ExitCode, code, r.Err, readFile(t, filepath.Join(dir, StderrFile)))
	}
	if stdout != "" {
		if got := readFile(t, filepath.Join(dir, StdoutFile)); got != stdout {
			t.Errorf("stdout %q, want %q", got, stdout)
		}
	}
}

// reachableSandbox is a sandbox directory under directories anyone may
// search (t.TempDir's are root's alone).
func reachableSandbox(t *testing.T) string {
	t.Helper()
	dir := sandboxDir(t)
	for d := filepath.Dir(dir); d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestCheckReach(t *testing.T) {
	asRoot(t)
	t.Parallel()
	nobody, err := LookupUser("nobody")
	if err != nil {
		t.Fatal(err)
	}
	open := reachableSandbox(t)
	closed := filepath.Join(open, "closed", "sandbox")
	if err := os.MkdirAll(closed, 0o700); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		dir     string
		wantErr string
	}{
		{name: "searchable path", dir: filepath.Join(open, "x")},
		{name: "a closed directory above", dir: closed, wantErr: "is not searchable by it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := nobody.CheckReach(tt.dir)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("CheckReach(%s) = %v, want %q", tt.dir, err, tt.wantErr)
			}
		})
	}
}

// TestCgroupCapsUserTask runs a memory hog as nobody under a memory cap:
// running as a user keeps the task in its cgroup, and the cap holds.
func TestCgroupCapsUserTask(t *testing.T) {
	asRoot(t)
	requireCgroups(t)
	nobody, err := LookupUser("nobody")
	if err != nil {
		t.Fatal(err)
	}
	dir := reachableSandbox(t)
	if err := nobody.Chown(dir); err != nil {
		t.Fatal(err)
	}
	p, _ := startInCgroup(t, Spec{Dir: dir, User: nobody, MemoryBytes: 32 << 20}, CommandSpec{Shell: true, Value: "exec tail /dev/zero"})
	r := wait(t, p)
	checkResult(t, r, r.ExitCode, ReasonMemoryLimit, "memory limit of 33554432 bytes (32 MiB)", "OOM killer")
}
