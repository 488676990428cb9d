package agent

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	bolt "go.etcd.io/bbolt"

	"github.com/mezzo-cluster/mezzo/api"
)

// mkSandbox makes dir with a file in it, its modification time age
// before now.
func mkSandbox(t *testing.T, dir string, now time.Time, age time.Duration) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "stdout"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	mtime := now.Add(-age)
	if err := os.Chtimes(dir, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

// registerRun registers a run of executor ex of framework fw, never
// started, whose directory is not made. a.mu must not be held.
func registerRun(a *Agent, fw, ex string) *executorRun {
	a.mu.Lock()
	defer a.mu.Unlock()
	r := a.newRun(fw, api.FrameworkInfo{}, api.ExecutorInfo{ExecutorID: api.ExecutorID{Value: ex}})
	a.executors[r.key] = r
	return r
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

func TestCollectSandboxes(t *testing.T) {
	const week = 7 * 24 * time.Hour
	tests := []struct {
		name     string
		age      time.Duration // since the run's directory last changed
		live     bool
		exits    bool // the live run's executor exits just before the collection
		headroom float64
		want     bool // removed
	}{
		{name: "young", age: time.Hour, want: false},
		{name: "old", age: week + time.Hour, want: true},
		{name: "old but live", age: week + time.Hour, live: true, want: false},
		{name: "young under disk pressure", age: time.Hour, headroom: 0.999, want: true},
		{name: "live under disk pressure", age: time.Hour, live: true, headroom: 0.999, want: false},
		// Its age counts from its executor's exit, not from when it began.
		{name: "old, exited just now", age: week + time.Hour, live: true, exits: true, want: false},
		{name: "old, exited just now, under disk pressure", age: week + time.Hour, live: true, exits: true, headroom: 0.999, want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newBareAgent(t, func(c *Config) { c.SandboxGCHeadroom = tt.headroom })
			var dir string
			if tt.live {
				r := registerRun(a, "fw", "ex")
				dir = r.rec.Dir
				mkSandbox(t, dir, time.Now(), tt.age)
				if tt.exits {
					a.executorExited(r, "test over", false, nil)
				}
			} else {
				dir = filepath.Join(a.cfg.sandboxRoot(), "fw", "ex", "runs", "c1")
				mkSandbox(t, dir, time.Now(), tt.age)
			}
			a.collectSandboxes(time.Now())
			if removed := !exists(dir); removed != tt.want {
				t.Fatalf("removed = %v, want %v", removed, tt.want)
			}
		})
	}
}

// TestCollectSandboxesAfterRestart restarts an agent over the checkpoint
// of an executor that died while it was down, in a run begun long ago:
// its sandbox is kept the whole delay from the restart, which is the
// latest it can have ended.
func TestCollectSandboxesAfterRestart(t *testing.T) {
	dir := searchableTempDir(t)
	rec := liveExecutorRecord(t, dir)
	dead := exec.Command("sleep", "600")
	if err := dead.Start(); err != nil {
		t.Fatal(err)
	}
	rec.PID, rec.StartTime = dead.Process.Pid, processStartTime(dead.Process.Pid)
	dead.Process.Kill()
	dead.Wait()
	mkSandbox(t, rec.Dir, time.Now(), 30*24*time.Hour)

	first := newBareAgent(t, func(c *Config) { c.WorkDir = dir })
	if err := first.store.checkpoint("fw", "e", &rec, nil, false).wait(); err != nil {
		t.Fatal(err)
	}
	first.store.close()

	second := newBareAgent(t, func(c *Config) { c.WorkDir = dir; c.SandboxGCHeadroom = 0 })
	second.collectSandboxes(time.Now())
	if !exists(rec.Dir) {
		t.Fatal("the sandbox of an executor found dead at the restart was collected at once")
	}
	second.collectSandboxes(time.Now().Add(second.cfg.SandboxGCDelay + time.Minute))
	if exists(rec.Dir) {
		t.Fatal("the sandbox of an executor found dead at the restart was kept past the delay")
	}
}

// TestCollectTaskSandboxes collects the sandboxes of ended tasks in the
// run of a live shared executor, as whole runs are: after the delay
// counted from the task's end, sooner under disk pressure; never that of
// a task still running, or whose terminal update waits for its
// acknowledgement, nor the executor's own sandbox.
func TestCollectTaskSandboxes(t *testing.T) {
	const week = 7 * 24 * time.Hour
	tests := []struct {
		name     string
		age      time.Duration // since the task's sandbox last changed
		running  bool
		ends     bool // the running task ends, acknowledged, just before the collection
		unacked  bool // its terminal update waits for acknowledgement
		headroom float64
		want     bool // removed
	}{
		{name: "ended long ago", age: week + time.Hour, want: true},
		{name: "ended lately", age: time.Hour, want: false},
		{name: "ended lately, under disk pressure", age: time.Hour, headroom: 0.999, want: true},
		{name: "running", age: week + time.Hour, running: true, want: false},
		{name: "running, under disk pressure", age: time.Hour, running: true, headroom: 0.999, want: false},
		{name: "ended, unacknowledged, under disk pressure", age: week + time.Hour, unacked: true, headroom: 0.999, want: false},
		{name: "began long ago, ended just now", age: week + time.Hour, running: true, ends: true, want: false},
		{name: "began long ago, ended just now, under disk pressure", age: week + time.Hour, running: true, ends: true, headroom: 0.999, want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newBareAgent(t, func(c *Config) { c.SandboxGCHeadroom = tt.headroom })
			r := registerRun(a, "fw", "mezzo-executor-1")
			a.mu.Lock()
			r.rec.Shared = true
			a.shared["fw"] = r
			a.mu.Unlock()
			own := filepath.Join(r.rec.Dir, "executor.stdout")
			taskDir := filepath.Join(r.rec.Dir, "tasks", "t")
			mkSandbox(t, taskDir, time.Now(), tt.age)
			if err := os.WriteFile(own, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			old := time.Now().Add(-week - time.Hour)
			os.Chtimes(r.rec.Dir, old, old)
			if tt.running {
				a.mu.Lock()
				task := &execTask{info: api.TaskInfo{TaskID: api.TaskID{Value: "t"}}, dir: taskDir, state: api.TaskRunning, queued: true, sent: true}
				r.add(task)
				a.taskIndex[taskKey{"fw", "t"}] = r
				a.mu.Unlock()
			}
			// The queue as a restarted agent finds it: a sandbox not
			// running ended when it last changed.
			a.mu.Lock()
			r.collectable = r.endedOnDisk()
			a.mu.Unlock()
			if tt.ends || tt.unacked {
				id := uuid.New()
				st := api.TaskStatus{TaskID: api.TaskID{Value: "t"}, State: api.TaskFinished, UUID: id[:]}
				var w *write
				if tt.ends {
					a.mu.Lock()
					_, w = a.recordExecutorUpdate(r, st, nil)
					a.mu.Unlock()
				} else {
					w = a.updates.addFromExecutor("fw", st, time.Now(), nil)
				}
				if err := w.wait(); err != nil {
					t.Fatal(err)
				}
				if tt.ends {
					a.updates.acknowledge("fw", "t", id[:], time.Now())
				}
			}
			a.collectSandboxes(time.Now())
			if removed := !exists(taskDir); removed != tt.want {
				t.Errorf("task's sandbox removed = %v, want %v", removed, tt.want)
			}
			if !exists(own) {
				t.Error("the live executor's own sandbox was collected")
			}
			if entries, _ := os.ReadDir(filepath.Dir(taskDir)); tt.want && len(entries) != 0 {
				t.Errorf("tasks/ holds %d entries after the collection, want none", len(entries))
			}
		})
	}
}

// TestCollectSandboxesTidies checks that collecting an executor's last
// run removes runs/latest, left leading nowhere, and the executor's and
// framework's directories once empty, but nothing a run being made
// (registered, its directory not yet made) needs.
func TestCollectSandboxesTidies(t *testing.T) {
	tests := []struct {
		name      string
		live      [][2]string // framework and executor of runs registered, their directories not made
		gone      []string    // paths, under the sandboxes, that must be gone
		remaining []string    // and that must remain
	}{
		{name: "last run of its framework", gone: []string{"fw"}},
		{name: "a run of the executor is being made", live: [][2]string{{"fw", "ex"}},
			gone: []string{"fw/ex/runs/c1"}, remaining: []string{"fw/ex/runs/latest", "fw/ex/runs"}},
		{name: "a run of another executor of the framework is being made", live: [][2]string{{"fw", "ex2"}},
			gone: []string{"fw/ex"}, remaining: []string{"fw"}},
		{name: "another framework's run is being made", live: [][2]string{{"fw2", "ex"}}, gone: []string{"fw"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newBareAgent(t, func(c *Config) { c.SandboxGCHeadroom = 0 })
			root := a.cfg.sandboxRoot()
			runs := filepath.Join(root, "fw", "ex", "runs")
			mkSandbox(t, filepath.Join(runs, "c1"), time.Now(), 8*24*time.Hour)
			if err := os.Symlink("c1", filepath.Join(runs, "latest")); err != nil {
				t.Fatal(err)
			}
			for _, l := range tt.live {
				registerRun(a, l[0], l[1])
			}
			if n := a.collectSandboxes(time.Now()); n != 1 {
				t.Fatalf("collected %d sandboxes, want 1", n)
			}
			for _, p := range tt.gone {
				if exists(filepath.Join(root, p)) {
					t.Errorf("%s remains", p)
				}
			}
			for _, p := range tt.remaining {
				if !exists(filepath.Join(root, p)) {
					t.Errorf("%s is gone", p)
				}
			}
			if !exists(root) {
				t.Error("the sandboxes' directory is gone")
			}
		})
	}
}

// TestCollectSparesALiveRootTask checks that nothing is collected in the
// tasks/ of a run whose own sandbox a live task runs in (a wazero task's
// executor of its own, the first task launched alone on a named
// executor): what is there is that task's data, not ended tasks'
// sandboxes, old or not, and short of disk or not.
func TestCollectSparesALiveRootTask(t *testing.T) {
	for _, headroom := range []float64{0, 0.999} {
		a := newBareAgent(t, func(c *Config) { c.SandboxGCHeadroom = headroom })
		r := registerRun(a, "fw", "t1")
		a.mu.Lock()
		task := &execTask{info: api.TaskInfo{TaskID: api.TaskID{Value: "t1"}}, dir: r.taskDir("t1", false), state: api.TaskRunning,
			queued: true, sent: true}
		r.add(task)
		a.taskIndex[taskKey{"fw", "t1"}] = r
		a.mu.Unlock()
		data := filepath.Join(r.rec.Dir, "tasks", "cache")
		mkSandbox(t, data, time.Now(), 8*24*time.Hour)
		a.mu.Lock()
		r.collectable = r.endedOnDisk() // as a restarted agent finds it
		a.mu.Unlock()
		a.collectSandboxes(time.Now())
		if !exists(data) {
			t.Errorf("headroom %v: the live task's %s was collected", headroom, data)
		}
	}
}

// TestMarkEndedFollowsNoLink checks that marking a sandbox ended does not
// touch what a link planted in its place leads to: the agent runs as
// root, and a task could plant one where another's sandbox was.
func TestMarkEndedFollowsNoLink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "elsewhere")
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	mkSandbox(t, target, old, 0)
	link := filepath.Join(dir, "sandbox")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if err := markEnded(link, time.Now()); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(target)
	if err != nil {
		t.Fatal(err)
	}
	if !fi.ModTime().Equal(old) {
		t.Errorf("the link's target was touched: its time is %v, was %v", fi.ModTime(), old)
	}
}

// TestCollectSparesAnExitingRun checks that the run of an executor the
// agent lets go of is not collected while what ran in its session still
// runs there, even once a new run of the same executor has taken its
// place: it goes after executorExited has killed what was left.
func TestCollectSparesAnExitingRun(t *testing.T) {
	a := newBareAgent(t, func(c *Config) { c.SandboxGCHeadroom = 0.999 })
	r := registerRun(a, "fw", "ex")
	mkSandbox(t, r.rec.Dir, time.Now(), 8*24*time.Hour)
	left := exec.Command("sleep", "600") // what is left of the executor's container
	left.Dir = r.rec.Dir
	left.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := left.Start(); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- left.Wait() }()
	t.Cleanup(func() { left.Process.Kill(); <-waited })
	pid := left.Process.Pid
	start := processStartTime(pid)
	var keptWhileAlive, alive bool
	a.mu.Lock()
	r.started = true
	r.rec.PID, r.rec.StartTime = pid, start
	// Its checks stop after the run has left a.executors and before
	// what it left is killed: that is when the collector looks.
	task := &execTask{info: api.TaskInfo{TaskID: api.TaskID{Value: "t"}}, dir: r.taskDir("t", false), state: api.TaskRunning,
		queued: true, sent: true, stopChecks: func() {
			registerRun(a, "fw", "ex") // a new run of the executor replaces it
			alive = processAlive(pid, start)
			a.collectSandboxes(time.Now())
			keptWhileAlive = exists(r.rec.Dir)
		}}
	r.add(task)
	a.taskIndex[taskKey{"fw", "t"}] = r
	a.mu.Unlock()
	a.executorExited(r, "test over", true, nil)
	if !alive {
		t.Fatal("what the executor left was dead before the agent let go of it: the test shows nothing")
	}
	if !keptWhileAlive {
		t.Error("the run was collected while a process of its executor still ran in it")
	}
	a.collectSandboxes(time.Now())
	if exists(r.rec.Dir) {
		t.Error("the run was kept after what ran in it was killed")
	}
}

// TestCollectSparesALaunchBeingPrepared checks that a run shut down
// before its executor started, which the agent forgets at once, is not
// collected while a launch is still being prepared in it (a fetch into
// it, its executor being started there), but is once that is over.
func TestCollectSparesALaunchBeingPrepared(t *testing.T) {
	a := newBareAgent(t, func(c *Config) { c.SandboxGCHeadroom = 0.999 })
	r := registerRun(a, "fw", "ex")
	mkSandbox(t, r.rec.Dir, time.Now(), 8*24*time.Hour)
	release := make(chan struct{})
	a.mu.Lock()
	a.inLine(r, func(*turn) { <-release })
	a.shutdownRun(r)
	a.mu.Unlock()
	holds := func() int {
		a.mu.Lock()
		defer a.mu.Unlock()
		return a.held[r.rec.Dir]
	}
	<-r.done
	deadline := time.Now().Add(10 * time.Second)
	for holds() > 1 { // executorExited's, over once it returns
		if time.Now().After(deadline) {
			t.Fatal("executorExited did not return")
		}
		time.Sleep(time.Millisecond)
	}
	a.collectSandboxes(time.Now())
	if !exists(r.rec.Dir) {
		t.Error("the run was collected while a launch was being prepared in it")
	}
	close(release)
	for holds() > 0 {
		if time.Now().After(deadline) {
			t.Fatal("the launch did not end")
		}
		time.Sleep(time.Millisecond)
	}
	a.collectSandboxes(time.Now())
	if exists(r.rec.Dir) {
		t.Error("the run was kept after its launch was over")
	}
}

// sharedRun registers a shared executor's run of framework fw, never
// started, whose tasks/ is made. a.mu must not be held.
func sharedRun(t *testing.T, a *Agent) *executorRun {
	t.Helper()
	r := registerRun(a, "fw", "mezzo-executor-1")
	a.mu.Lock()
	r.rec.Shared, r.rec.SandboxUsed = true, true
	a.shared["fw"] = r
	a.mu.Unlock()
	if err := os.MkdirAll(filepath.Join(r.rec.Dir, "tasks"), 0o755); err != nil {
		t.Fatal(err)
	}
	return r
}

// runTask adds a running task of ID id to r, with its sandbox made, and
// returns the sandbox. a.mu must not be held.
func runTask(t *testing.T, a *Agent, r *executorRun, id string) string {
	t.Helper()
	a.mu.Lock()
	task := &execTask{info: api.TaskInfo{TaskID: api.TaskID{Value: id}}, dir: r.taskDir(id, false), state: api.TaskRunning,
		queued: true, sent: true}
	r.add(task)
	a.taskIndex[taskKey{"fw", id}] = r
	a.mu.Unlock()
	mkSandbox(t, task.dir, time.Now(), 0)
	return task.dir
}

// endTask ends a running task of r as its executor's TASK_FINISHED does,
// the update on disk and, if ack, acknowledged; it returns the stops
// recordExecutorUpdate returned, not yet run, and the update's UUID.
func endTask(t *testing.T, a *Agent, r *executorRun, id string, ack bool) ([]func(), []byte) {
	t.Helper()
	u := uuid.New()
	st := api.TaskStatus{TaskID: api.TaskID{Value: id}, State: api.TaskFinished, UUID: u[:]}
	a.mu.Lock()
	stop, w := a.recordExecutorUpdate(r, st, nil)
	a.mu.Unlock()
	if err := w.wait(); err != nil {
		t.Fatal(err)
	}
	if ack {
		a.updates.acknowledge("fw", id, u[:], time.Now())
	}
	return stop, u[:]
}

// TestTaskSandboxAgeCountsFromItsEnd checks that a task's sandbox is kept
// the whole delay from the task's end as the agent saw it, whatever its
// directory's time says after (what the task left can set it).
func TestTaskSandboxAgeCountsFromItsEnd(t *testing.T) {
	a := newBareAgent(t, func(c *Config) { c.SandboxGCHeadroom = 0 })
	r := sharedRun(t, a)
	dir := runTask(t, a, r, "t")
	stop, _ := endTask(t, a, r, "t", true)
	runAll(stop)
	old := time.Now().Add(-30 * 24 * time.Hour)
	if err := os.Chtimes(dir, old, old); err != nil {
		t.Fatal(err)
	}
	a.collectSandboxes(time.Now())
	if !exists(dir) {
		t.Fatal("a task's sandbox was collected at once, its directory's time set back after its end")
	}
	a.collectSandboxes(time.Now().Add(a.cfg.SandboxGCDelay + time.Minute))
	if exists(dir) {
		t.Fatal("a task's sandbox was kept past the delay")
	}
}

// TestMarkEndedOutOfTheLock checks that the end of a task is written on
// its sandbox by the stops recordExecutorUpdate returns, which run once
// Agent.mu is released, not under it, and that the time written is the
// task's end.
func TestMarkEndedOutOfTheLock(t *testing.T) {
	a := newBareAgent(t, nil)
	r := sharedRun(t, a)
	dir := runTask(t, a, r, "t")
	before := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := os.Chtimes(dir, before, before); err != nil {
		t.Fatal(err)
	}
	stop, _ := endTask(t, a, r, "t", false)
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !fi.ModTime().Equal(before) {
		t.Fatalf("the sandbox's time was written while Agent.mu was held: %v, was %v", fi.ModTime(), before)
	}
	runAll(stop)
	if fi, err = os.Stat(dir); err != nil {
		t.Fatal(err)
	}
	a.mu.Lock()
	q := slices.Clone(r.collectable)
	a.mu.Unlock()
	if len(q) != 1 || q[0].name != "t" || !fi.ModTime().Equal(q[0].at) {
		t.Errorf("the sandbox's time is %v, its queue %v: want one entry for t at that time", fi.ModTime(), q)
	}
}

// TestCollectTaskSandboxQueue follows a run's queue of ended tasks'
// sandboxes through collections: the due front is collected in order; a
// sandbox whose terminal update waits for acknowledgement stays in front
// until acknowledged; one whose task ID ran and ended again is counted
// from the later end; what is not due is not looked at.
func TestCollectTaskSandboxQueue(t *testing.T) {
	a := newBareAgent(t, func(c *Config) { c.SandboxGCHeadroom = 0 })
	r := sharedRun(t, a)
	finish := func(id string, ack bool) []byte {
		t.Helper()
		stop, u := endTask(t, a, r, id, ack)
		runAll(stop)
		return u
	}
	dirs := map[string]string{}
	for _, id := range []string{"again", "old", "unacked"} {
		dirs[id] = runTask(t, a, r, id)
	}
	finish("again", true)
	runTask(t, a, r, "again") // launched again under the same ID
	finish("old", true)
	unacked := finish("unacked", false)
	finish("again", true)
	dirs["young"] = runTask(t, a, r, "young")
	finish("young", true)
	names := func() []string {
		a.mu.Lock()
		defer a.mu.Unlock()
		var out []string
		for _, e := range r.collectable {
			out = append(out, e.name)
		}
		return out
	}
	if got, want := names(), []string{"again", "old", "unacked", "again", "young"}; !slices.Equal(got, want) {
		t.Fatalf("queue %v, want %v", got, want)
	}
	// The first three ended long ago, and their sandboxes say so, but
	// for again's, which its later end set.
	a.mu.Lock()
	for i := range 3 {
		e := &r.collectable[i]
		e.at = e.at.Add(-8 * 24 * time.Hour)
		if e.name != "again" {
			if err := os.Chtimes(dirs[e.name], e.at, e.at); err != nil {
				t.Fatal(err)
			}
		}
	}
	a.mu.Unlock()

	steps := []struct {
		name  string
		after time.Duration // past now, when the collection runs
		ack   bool          // acknowledge unacked's update first
		gone  []string
		queue []string
	}{
		{name: "the due front", gone: []string{"old"},
			// again's earlier end is counted from its later one, queued
			// again at that time, in order.
			queue: []string{"unacked", "again", "again", "young"}},
		{name: "acknowledged", ack: true, gone: []string{"old", "unacked"}, queue: []string{"again", "again", "young"}},
		{name: "past the delay", after: a.cfg.SandboxGCDelay + time.Minute,
			gone: []string{"old", "unacked", "again", "young"}},
	}
	for _, st := range steps {
		if st.ack {
			a.updates.acknowledge("fw", "unacked", unacked, time.Now())
		}
		a.collectSandboxes(time.Now().Add(st.after))
		for id, dir := range dirs {
			if gone := !exists(dir); gone != slices.Contains(st.gone, id) {
				t.Errorf("%s: %s's sandbox gone = %v", st.name, id, gone)
			}
		}
		if got := names(); !slices.Equal(got, st.queue) {
			t.Errorf("%s: queue %v, want %v", st.name, got, st.queue)
		}
	}
	if entries, _ := os.ReadDir(filepath.Join(r.rec.Dir, "tasks")); len(entries) != 0 {
		t.Errorf("tasks/ holds %d entries, want none", len(entries))
	}
}

// TestCollectTaskSandboxesAfterRestart restarts an agent over the
// checkpoint of a live shared executor with one running task, whose
// tasks/ holds the sandboxes of tasks that ended before: the restarted
// agent queues them by their directories' times and collects them as
// they fall due, once the executor has subscribed again; never the
// running task's.
func TestCollectTaskSandboxesAfterRestart(t *testing.T) {
	dir := searchableTempDir(t)
	rec := liveExecutorRecord(t, dir)
	rec.Shared, rec.SandboxUsed = true, true
	tasks := filepath.Join(rec.Dir, "tasks")
	ages := map[string]time.Duration{"old": 8 * 24 * time.Hour, "young": time.Hour, "live": 30 * 24 * time.Hour}
	for id, age := range ages {
		mkSandbox(t, filepath.Join(tasks, id), time.Now(), age)
	}
	live := recordedTask{Info: api.TaskInfo{Name: "live", TaskID: api.TaskID{Value: "live"},
		Command: &api.CommandInfo{Value: "sleep 600"}}, Dir: filepath.Join(tasks, "live"), State: api.TaskRunning, Sent: true}
	a := restartOver(t, dir, rec, live)
	a.mu.Lock()
	r := a.executors[execKey{"fw", "e"}]
	a.mu.Unlock()
	if r == nil {
		t.Fatal("the executor was not recovered")
	}
	a.collectSandboxes(time.Now())
	if !exists(filepath.Join(tasks, "old")) {
		t.Fatal("a sandbox was collected before its executor subscribed again")
	}
	a.mu.Lock()
	r.subscribed = true // as its SUBSCRIBE does
	a.mu.Unlock()
	steps := []struct {
		after time.Duration // past now, when the collection runs
		gone  []string
	}{
		{0, []string{"old"}},
		{a.cfg.SandboxGCDelay, []string{"old", "young"}},
	}
	for _, st := range steps {
		a.collectSandboxes(time.Now().Add(st.after))
		for id := range ages {
			if gone := !exists(filepath.Join(tasks, id)); gone != slices.Contains(st.gone, id) {
				t.Errorf("%v on: %s's sandbox gone = %v", st.after, id, gone)
			}
		}
	}
}

// blockCommits holds agent.db's commits back until the returned function
// is called: the writes queued meanwhile wait, as on a slow disk.
func blockCommits(t *testing.T, a *Agent) func() {
	t.Helper()
	block := make(chan struct{})
	started := make(chan struct{})
	a.store.c.enqueue(func(*bolt.Tx) error {
		close(started)
		<-block
		return nil
	}, nil)
	<-started
	var once sync.Once
	release := func() { once.Do(func() { close(block) }) }
	t.Cleanup(release)
	return release
}

// queuedWrites returns how many writes wait for agent.db's next commit.
func queuedWrites(a *Agent) int {
	a.store.c.mu.Lock()
	defer a.store.c.mu.Unlock()
	return len(a.store.c.queue)
}

// TestCollectWaitsForTheTerminalUpdate ends a task, its terminal update
// not yet on disk, then collects under disk pressure: the sandbox is not
// taken before the update is on disk, where it then waits for its
// acknowledgement, and is once the update is acknowledged. Before, it
// could go in between: gone while the framework had not heard of the
// task's end, nor would after a crash.
func TestCollectWaitsForTheTerminalUpdate(t *testing.T) {
	a := newBareAgent(t, func(c *Config) { c.SandboxGCHeadroom = 0.999 })
	r := sharedRun(t, a)
	dir := runTask(t, a, r, "t")
	release := blockCommits(t, a)
	u := uuid.New()
	a.mu.Lock()
	stop, w := a.recordExecutorUpdate(r, api.TaskStatus{TaskID: api.TaskID{Value: "t"}, State: api.TaskFinished, UUID: u[:]}, nil)
	a.mu.Unlock()
	runAll(stop)
	queued := queuedWrites(a)
	done := make(chan int, 1)
	go func() { done <- a.collectSandboxes(time.Now()) }()
	// The collection is over, or waits for a write of its own.
	deadline := time.Now().Add(10 * time.Second)
	over := false
	for !over && queuedWrites(a) == queued {
		select {
		case <-done:
			over = true
		case <-time.After(time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("the collection neither ended nor queued a write")
		}
	}
	if over && !exists(dir) {
		t.Fatal("the sandbox was collected before its task's terminal update was on disk")
	}
	release()
	if err := w.wait(); err != nil {
		t.Fatal(err)
	}
	if !over {
		<-done
	}
	if !exists(dir) {
		t.Fatal("the sandbox was collected while its task's terminal update waited for acknowledgement")
	}
	a.updates.acknowledge("fw", "t", u[:], time.Now())
	a.collectSandboxes(time.Now())
	if exists(dir) {
		t.Error("the sandbox was kept under disk pressure after its update was acknowledged")
	}
}

// TestCollectWaitsForTheReportOfAKill kills a task still being prepared,
// whose TASK_KILLED the agent makes itself, and collects under disk
// pressure while that update is not yet on disk: the sandbox is not
// taken before the update is on disk, then not before it is
// acknowledged.
func TestCollectWaitsForTheReportOfAKill(t *testing.T) {
	a := newBareAgent(t, func(c *Config) { c.SandboxGCHeadroom = 0.999 })
	r := sharedRun(t, a)
	dir := runTask(t, a, r, "t")
	a.mu.Lock()
	r.tasks["t"].queued, r.tasks["t"].sent, r.tasks["t"].state = false, false, api.TaskStaging
	a.mu.Unlock()
	release := blockCommits(t, a)
	killed := make(chan struct{})
	go func() {
		defer close(killed)
		a.killTask(&api.AgentKill{FrameworkID: api.FrameworkID{Value: "fw"}, TaskID: api.TaskID{Value: "t"}})
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		a.mu.Lock()
		gone := r.tasks["t"] == nil
		a.mu.Unlock()
		if gone {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the task was not killed")
		}
		time.Sleep(time.Millisecond)
	}
	a.collectSandboxes(time.Now())
	if !exists(dir) {
		t.Fatal("the sandbox was collected before its task's TASK_KILLED was on disk")
	}
	release()
	<-killed
	a.collectSandboxes(time.Now())
	if !exists(dir) {
		t.Fatal("the sandbox was collected while its task's TASK_KILLED waited for acknowledgement")
	}
	st := a.updates.latest()[taskKey{"fw", "t"}]
	if st.State != api.TaskKilled {
		t.Fatalf("the task's update is %s, want TASK_KILLED", st.State)
	}
	a.updates.acknowledge("fw", "t", st.UUID, time.Now())
	a.collectSandboxes(time.Now())
	if exists(dir) {
		t.Error("the sandbox was kept under disk pressure after its update was acknowledged")
	}
}

// TestCollectorStaysInTasksDir gives the collector a task ID that leads
// out of tasks/ (one the master should have refused, which the agent
// gives no sandbox and its executor fails), both as a task that ends and
// as an entry already in its run's queue: the directory it leads to,
// outside every sandbox, survives a collection that takes everything due.
func TestCollectorStaysInTasksDir(t *testing.T) {
	for _, queued := range []bool{false, true} {
		t.Run(fmt.Sprintf("queued %v", queued), func(t *testing.T) {
			a := newBareAgent(t, func(c *Config) { c.SandboxGCHeadroom = 0.999 }) // disk short: all due at once
			r := sharedRun(t, a)
			victim := filepath.Join(t.TempDir(), "precious")
			mkSandbox(t, victim, time.Now(), 0)
			id := strings.Repeat("../", 64) + strings.TrimPrefix(victim, "/")
			if api.ValidateID("task", id) == nil {
				t.Fatal("the ID is valid: the test shows nothing")
			}
			if queued {
				a.mu.Lock()
				r.collectable = append(r.collectable, endedSandbox{name: id, at: time.Now().Add(time.Second)}) // after its last change
				a.mu.Unlock()
			} else {
				a.mu.Lock()
				task := &execTask{info: api.TaskInfo{TaskID: api.TaskID{Value: id}}, dir: r.taskDir(id, false), state: api.TaskRunning, queued: true, sent: true}
				r.add(task)
				a.taskIndex[taskKey{"fw", id}] = r
				a.mu.Unlock()
				stop, _ := endTask(t, a, r, id, true)
				runAll(stop)
			}
			a.collectSandboxes(time.Now())
			if _, err := os.Lstat(victim); err != nil {
				t.Fatalf("%s, outside every sandbox, was removed through task ID %q: %v", victim, id[:24]+"...", err)
			}
		})
	}
}

// TestEnqueueKeepsEndOrder checks that a run's queue of ended tasks'
// sandboxes stays in the order of the ends, whatever the order they come
// in, and that nothing goes before the front a collection holds.
func TestEnqueueKeepsEndOrder(t *testing.T) {
	base := time.Now()
	tests := []struct {
		name   string
		queue  []int // the entries' ends, in minutes past base; named by their index
		taking int
		at     int // the new entry's end
		want   []string
	}{
		{name: "latest", queue: []int{1, 2, 3}, at: 4, want: []string{"0", "1", "2", "new"}},
		{name: "reported late", queue: []int{1, 3, 5}, at: 2, want: []string{"0", "new", "1", "2"}},
		{name: "earliest", queue: []int{1, 2}, at: 0, want: []string{"new", "0", "1"}},
		{name: "same end as one queued", queue: []int{1, 2, 3}, at: 2, want: []string{"0", "1", "new", "2"}},
		{name: "before the front a collection holds", queue: []int{5, 6, 7}, taking: 2, at: 1, want: []string{"0", "1", "new", "2"}},
		{name: "empty", at: 1, want: []string{"new"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &executorRun{taking: tt.taking}
			for i, m := range tt.queue {
				r.collectable = append(r.collectable, endedSandbox{name: fmt.Sprint(i), at: base.Add(time.Duration(m) * time.Minute)})
			}
			r.enqueue(endedSandbox{name: "new", at: base.Add(time.Duration(tt.at) * time.Minute)})
			var got []string
			for _, e := range r.collectable {
				got = append(got, e.name)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("queue %v, want %v", got, tt.want)
			}
		})
	}
}

// TestCollectTaskSandboxQueuedAgainInOrder queues, behind a sandbox
// whose directory changed after the end it was queued for, one that
// ended later and is not due: the first, queued again at its change, is
// collected once that change is past the delay. Before, it went to the
// tail, behind the later end, and waited for that one's delay too.
func TestCollectTaskSandboxQueuedAgainInOrder(t *testing.T) {
	a := newBareAgent(t, func(c *Config) { c.SandboxGCHeadroom = 0 })
	r := sharedRun(t, a)
	now, delay := time.Now(), a.cfg.SandboxGCDelay
	changed := filepath.Join(r.rec.Dir, "tasks", "changed")
	mkSandbox(t, changed, now, 2*delay) // changed a delay after the end queued below
	mkSandbox(t, filepath.Join(r.rec.Dir, "tasks", "later"), now, 0)
	a.mu.Lock()
	r.collectable = []endedSandbox{{name: "changed", at: now.Add(-3 * delay)}, {name: "later", at: now.Add(-delay / 2)}}
	a.mu.Unlock()
	a.collectSandboxes(now) // queues changed again, at its change
	if !exists(changed) {
		t.Fatal("a sandbox that changed after its end was collected at its first turn")
	}
	a.collectSandboxes(now.Add(time.Second))
	if exists(changed) {
		t.Error("a sandbox queued again at its change, past the delay, was kept behind a later end not yet due")
	}
}

// fullDB makes agent.db unable to grow, as on a full disk, until the
// returned function is called: a write that needs more room than the
// file has fails (bbolt's ErrMaxSizeReached), as it would with ENOSPC.
func fullDB(t *testing.T, a *Agent) func() {
	t.Helper()
	limit := func(n int) {
		// Set on the committer's goroutine, which reads it.
		if err := a.store.c.update(func(tx *bolt.Tx) error { tx.DB().MaxSize = n; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	limit(1)
	var once sync.Once
	release := func() { once.Do(func() { limit(0) }) }
	t.Cleanup(release)
	return release
}

// TestCollectSparesAnEndNotWritten ends a task under disk pressure with
// a terminal update that cannot be written to agent.db (its disk full):
// the sandbox is kept, while the framework has not heard of the end.
// The executor's update, sent again (as when it subscribes again) and
// written, puts the sandbox back in line: it goes once that update is
// acknowledged. An update the agent made itself is not made again: its
// sandbox stays. Before, both went at the first collection.
func TestCollectSparesAnEndNotWritten(t *testing.T) {
	tests := []struct {
		name      string
		agentMade bool // the agent's TASK_KILLED of a task killed while prepared, not the executor's TASK_FINISHED
	}{
		{name: "executor's update, sent again"},
		{name: "agent's own update", agentMade: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newBareAgent(t, func(c *Config) { c.SandboxGCHeadroom = 0.999 }) // disk short: all due at once
			r := sharedRun(t, a)
			dir := runTask(t, a, r, "t")
			release := fullDB(t, a)
			u := uuid.New()
			// Too large for the room agent.db's file has.
			st := api.TaskStatus{TaskID: api.TaskID{Value: "t"}, State: api.TaskFinished, UUID: u[:], Message: strings.Repeat("x", 1<<20)}
			if tt.agentMade {
				st = api.TaskStatus{State: api.TaskKilled, Source: api.SourceAgent, Message: st.Message}
				a.mu.Lock()
				task := r.tasks["t"]
				r.remove(task)
				delete(a.taskIndex, taskKey{"fw", "t"})
				a.mu.Unlock()
				a.reportFor(r, task, st) // as killTask does
				if a.updates.pending() != 0 {
					t.Fatal("the update was written: the test shows nothing")
				}
			} else {
				a.mu.Lock()
				stop, w := a.recordExecutorUpdate(r, st, nil)
				a.mu.Unlock()
				if err := w.wait(); err == nil {
					t.Fatal("the update was written: the test shows nothing")
				}
				runAll(stop)
			}
			release()
			a.collectSandboxes(time.Now())
			if !exists(dir) {
				t.Fatal("the sandbox was collected though its task's terminal update could not be written")
			}
			if tt.agentMade {
				a.collectSandboxes(time.Now().Add(a.cfg.SandboxGCDelay + time.Minute))
				if !exists(dir) {
					t.Fatal("the sandbox was collected past the delay though its task's terminal update could not be written")
				}
				return
			}
			a.mu.Lock()
			_, w := a.recordExecutorUpdate(r, st, nil)
			a.mu.Unlock()
			if err := w.wait(); err != nil {
				t.Fatal(err)
			}
			a.collectSandboxes(time.Now())
			if !exists(dir) {
				t.Fatal("the sandbox was collected while its task's terminal update, written at last, waited for acknowledgement")
			}
			a.updates.acknowledge("fw", "t", u[:], time.Now())
			a.collectSandboxes(time.Now())
			if exists(dir) {
				t.Error("the sandbox was kept under disk pressure after its update, written at last, was acknowledged")
			}
		})
	}
}
