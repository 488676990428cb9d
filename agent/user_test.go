package agent

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
	"golang.org/x/sys/unix"
)

// searchableTempDir is tb.TempDir made searchable by anyone, with the
// directory above it: t.TempDir's are its owner's alone, and an agent
// running as root runs native tasks as nobody, who must reach their
// sandboxes.
func searchableTempDir(tb testing.TB) string {
	tb.Helper()
	dir := tb.TempDir()
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	return dir
}

func TestTaskUser(t *testing.T) {
	a := &Agent{defaultUser: "nobody"}
	fw := func(user string) *api.FrameworkInfo { return &api.FrameworkInfo{User: user} }
	tests := []struct {
		name string
		fw   *api.FrameworkInfo
		cmd  *api.CommandInfo
		want string
	}{
		{"the command's user first", fw("alice"), &api.CommandInfo{User: "bob"}, "bob"},
		{"then the framework's", fw("alice"), &api.CommandInfo{}, "alice"},
		{"then the agent's default", fw(""), &api.CommandInfo{}, "nobody"},
		{"a Wasm task's checks: the framework's", fw("alice"), nil, "alice"},
		{"a Wasm task's checks: the default", fw(""), nil, "nobody"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := a.taskUser(tt.fw, tt.cmd); got != tt.want {
				t.Errorf("taskUser = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCheckTaskUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the defaults differ for an agent that is not root")
	}
	if got := defaultTaskUser(""); got != "nobody" {
		t.Errorf("default task user of a root agent %q, want nobody", got)
	}
	tests := []struct {
		name, user, wantErr string
	}{
		{"nobody", "nobody", ""},
		{"root", "root", "has uid 0"},
		{"unknown", "no-such-user-mezzo", `"no-such-user-mezzo" does not exist`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkTaskUser(tt.user)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("checkTaskUser(%q) = %v, want %q", tt.user, err, tt.wantErr)
			}
		})
	}
}

// TestNativeTaskUser launches native tasks on an agent running as root
// whose executor never subscribes: the agent writes the user each task
// runs as into its command and gives it its sandbox, or fails the task
// when the user does not exist.
func TestNativeTaskUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("switching users needs root")
	}
	tests := []struct {
		name     string
		fwUser   string
		cmdUser  string
		wantUser string
		wantUID  uint32
		wantErr  string
	}{
		{name: "the agent's default", wantUser: "nobody", wantUID: 65534},
		{name: "the framework's user", fwUser: "daemon", wantUser: "daemon", wantUID: 1},
		{name: "the command's user", fwUser: "daemon", cmdUser: "nobody", wantUser: "nobody", wantUID: 65534},
		{name: "an unknown user", cmdUser: "no-such-user-mezzo", wantErr: `run as user "no-such-user-mezzo" on agent localhost: user "no-such-user-mezzo" does not exist`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newBareAgent(t, func(c *Config) {
				c.ExecutorCommand = []string{"/bin/sleep", "60"}
				c.ExecutorShutdownGrace = 10 * time.Millisecond
			})
			a.launch(&api.AgentLaunch{
				FrameworkInfo: api.FrameworkInfo{ID: &api.FrameworkID{Value: "fw"}, User: tt.fwUser},
				Tasks: []api.TaskInfo{{TaskID: api.TaskID{Value: "t1"},
					Command: &api.CommandInfo{Value: "true", User: tt.cmdUser}}},
			})
			if tt.wantErr != "" {
				st := firstUpdate(t, a)
				if st.State != api.TaskFailed || st.Reason != api.ReasonContainerLaunchFailed || !strings.Contains(st.Message, tt.wantErr) {
					t.Fatalf("update %s %s %q, want TASK_FAILED REASON_CONTAINER_LAUNCH_FAILED with %q", st.State, st.Reason, st.Message, tt.wantErr)
				}
				return
			}
			task := queuedTask(t, a, "fw", "t1")
			if got := task.info.Command.User; got != tt.wantUser {
				t.Errorf("the command runs as %q, want %q", got, tt.wantUser)
			}
			for _, p := range []string{task.dir, filepath.Join(task.dir, "stdout"), filepath.Join(task.dir, "stderr")} {
				if uid := ownerOf(t, p); uid != tt.wantUID {
					t.Errorf("%s belongs to uid %d, want %d", p, uid, tt.wantUID)
				}
			}
			run := filepath.Dir(filepath.Dir(task.dir)) // a shared executor's tasks run in tasks/<ID>
			if uid := ownerOf(t, filepath.Join(run, "executor.stderr")); uid != 0 {
				t.Errorf("the executor's stderr belongs to uid %d, want root's", uid)
			}
		})
	}
}

// firstUpdate waits for the agent's first status update.
func firstUpdate(t *testing.T, a *Agent) api.TaskStatus {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if due, _ := a.updates.due(time.Now()); len(due) > 0 {
			return due[0].status
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("no status update")
	return api.TaskStatus{}
}

// queuedTask waits until a task's launch is queued for its executor, its
// preparation done.
func queuedTask(t *testing.T, a *Agent, fw, id string) *execTask {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		a.mu.Lock()
		var task *execTask
		if r := a.taskIndex[taskKey{fw, id}]; r != nil && r.tasks[id] != nil && r.tasks[id].queued {
			task = r.tasks[id]
		}
		a.mu.Unlock()
		if task != nil {
			return task
		}
		if due, _ := a.updates.due(time.Now()); len(due) > 0 {
			t.Fatalf("task ended: %s %s", due[0].status.State, due[0].status.Message)
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("task %s was never queued", id)
	return nil
}

func ownerOf(t *testing.T, path string) uint32 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Sys().(*syscall.Stat_t).Uid
}

// TestMakeSandboxFollowsNoLink plants symbolic links where a custom
// executor, owning its sandbox, could: the agent refuses to make the
// task's sandbox through them, and creates nothing where they point.
func TestMakeSandboxFollowsNoLink(t *testing.T) {
	tests := []struct {
		name    string
		plant   func(t *testing.T, run, outside string)
		wantErr string
	}{
		{name: "no link", plant: func(*testing.T, string, string) {}},
		{name: "the task's directory is a link", plant: func(t *testing.T, run, outside string) {
			mustDo(t, os.MkdirAll(filepath.Join(run, "tasks"), 0o755))
			mustDo(t, os.Symlink(outside, filepath.Join(run, "tasks", "t1")))
		}, wantErr: "a symbolic link is refused"},
		{name: "stdout is a link", plant: func(t *testing.T, run, outside string) {
			mustDo(t, os.MkdirAll(filepath.Join(run, "tasks", "t1"), 0o755))
			mustDo(t, os.Symlink(filepath.Join(outside, "stdout"), filepath.Join(run, "tasks", "t1", "stdout")))
		}, wantErr: "a symbolic link is refused"},
	}
	for _, tt := range tests {
		for _, withSpares := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/spares=%v", tt.name, withSpares), func(t *testing.T) {
				root, outside := t.TempDir(), t.TempDir()
				run := filepath.Join(root, "fw", "exec", "runs", "c1")
				mustDo(t, os.MkdirAll(run, 0o755))
				tt.plant(t, run, outside)
				var sp *spares
				if withSpares {
					sp = readySpares(t, filepath.Join(root, "..", filepath.Base(root)+"-spares"))
				}
				err := makeSandbox(root, filepath.Join(run, "tasks", "t1"), sp)
				if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
					t.Fatalf("makeSandbox = %v, want %q", err, tt.wantErr)
				}
				if entries, _ := os.ReadDir(outside); len(entries) > 0 {
					t.Fatalf("made %d files outside the sandbox", len(entries))
				}
				if tt.wantErr == "" {
					for _, f := range []string{"stdout", "stderr"} {
						if fi, err := os.Lstat(filepath.Join(run, "tasks", "t1", f)); err != nil || !fi.Mode().IsRegular() {
							t.Errorf("%s: %v, want a file", f, err)
						}
					}
				}
				if sp != nil {
					// A spare is used where nothing is in the way, and
					// kept where something is.
					sp.close()
					used := sp.next - len(sp.ready) // made, less those left
					if want := map[bool]int{true: 1, false: 0}[tt.wantErr == ""]; used != want {
						t.Errorf("%d spares used, want %d", used, want)
					}
				}
			})
		}
	}
}

// readySpares returns a pool of spares in dir once it is full; it is
// closed when the test ends.
func readySpares(t *testing.T, dir string) *spares {
	t.Helper()
	sp, err := newSpares(dir, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sp.close(); os.RemoveAll(dir) })
	waitFull(t, sp)
	return sp
}

// waitFull waits until sp holds spareCount spares.
func waitFull(t *testing.T, sp *spares) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(time.Millisecond) {
		sp.mu.Lock()
		n := len(sp.ready)
		sp.mu.Unlock()
		if n == spareCount {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d spares made after a minute, want %d", n, spareCount)
		}
	}
}

// TestSparesRefill takes spares as launches do: each is a sandbox with
// empty stdout and stderr, none is handed out twice, the pool fills
// again, and a name already taken is left alone; spares left by an
// earlier agent are removed.
func TestSparesRefill(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "spares")
	mustDo(t, os.MkdirAll(filepath.Join(dir, "left-by-a-crash"), 0o755))
	sp := readySpares(t, dir)
	if _, err := os.Stat(filepath.Join(dir, "left-by-a-crash")); !os.IsNotExist(err) {
		t.Fatalf("a leftover spare is still there: %v", err)
	}
	fd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	for i := range 2 * spareCount {
		name := fmt.Sprintf("t%d", i)
		if !sp.place(fd, name) {
			// Emptied faster than it fills: wait for it (a launch
			// would have made its own).
			waitFull(t, sp)
			if !sp.place(fd, name) {
				t.Fatalf("no spare for %s after the pool refilled", name)
			}
		}
		for _, f := range []string{"stdout", "stderr"} {
			fi, err := os.Stat(filepath.Join(root, name, f))
			if err != nil || fi.Size() != 0 {
				t.Fatalf("%s/%s: %v, want an empty file", name, f, err)
			}
		}
	}
	waitFull(t, sp)
	// A name taken is never replaced, and does not turn the pool off.
	if sp.place(fd, "t0") {
		t.Fatal("a spare replaced t0")
	}
	sp.mu.Lock()
	off, ready := sp.off, len(sp.ready)
	sp.mu.Unlock()
	if off || ready != spareCount {
		t.Fatalf("after a move onto a taken name: off %v, %d spares ready, want on and %d", off, ready, spareCount)
	}
}

func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestUserTaskNeverOwnsTheRunDir launches a native task alone in an
// executor of its own: as it runs as a user, it gets tasks/<ID>, and the
// executor's sandbox, where root writes, stays root's.
func TestUserTaskNeverOwnsTheRunDir(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("switching users needs root")
	}
	a := newBareAgent(t, func(c *Config) {
		c.ExecutorCommand = []string{"/bin/sleep", "60"}
		c.ExecutorShutdownGrace = 10 * time.Millisecond
	})
	a.launch(&api.AgentLaunch{
		FrameworkInfo: api.FrameworkInfo{ID: &api.FrameworkID{Value: "fw"}},
		Tasks: []api.TaskInfo{{TaskID: api.TaskID{Value: "t1"}, Command: &api.CommandInfo{Value: "true"},
			Executor: &api.ExecutorInfo{Type: api.ExecutorDefault, ExecutorID: api.ExecutorID{Value: "e1"}}}},
	})
	task := queuedTask(t, a, "fw", "t1")
	run := filepath.Dir(filepath.Dir(task.dir))
	if filepath.Base(filepath.Dir(task.dir)) != "tasks" || ownerOf(t, run) != 0 || ownerOf(t, task.dir) != 65534 {
		t.Fatalf("task in %s (uid %d), run directory %s (uid %d); want tasks/t1 as nobody's, under root's run directory",
			task.dir, ownerOf(t, task.dir), run, ownerOf(t, run))
	}
}
