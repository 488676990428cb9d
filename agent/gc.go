package agent

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sys/unix"
)

// Sandboxes are garbage once what ran in them has ended: the run
// directory of an executor that exited, and, inside the run of a live
// executor, the sandbox of a task that ended (tasks/<task ID>; a shared
// executor may live for as long as its framework keeps it busy). They
// stay for Config.SandboxGCDelay after that end, so that people can read
// what the tasks wrote, then go (Mesos's --gc_delay). When the disk
// holding the work directory runs short of Config.SandboxGCHeadroom
// free, the oldest go sooner. Never collected: a run of an executor the
// agent still knows or holds (holdRun), the sandbox of a task that has not ended or whose
// terminal update waits for its acknowledgement, and a live executor's
// own sandbox (where its first task may have run).
//
// When something ended is its directory's modification time, written
// then (markEnded): by executorExited (and forgetRecovered, for an
// executor that died while the agent was down) for a run, by
// executorRun.remove for a task's sandbox. Why file times rather than
// agent.db: a run's record leaves agent.db when its executor exits, the
// time must outlive agent restarts, and a file time needs no write to
// agent.db on the path of every task's end. Mesos does the same: its
// agent touches a run's directory when it schedules it for collection
// and, after a restart, counts the delay from that time. Nothing adds to
// a sandbox's top directory once what ran there has ended, so the time
// stays; a later change only keeps the sandbox longer.

// gcLoop collects sandboxes every interval until ctx ends.
func (a *Agent) gcLoop(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			a.collectSandboxes(now)
		}
	}
}

// markEnded writes now as dir's modification time, which collectSandboxes
// counts a sandbox's age from (see the comment at the top of gc.go). A
// directory that is not there (a task killed before its sandbox was
// made) is no error.
func markEnded(dir string) error {
	// A link is not followed: a task that runs in its executor's own
	// sandbox could plant one where another task's sandbox was, and the
	// agent, as root, must not touch what it leads to. (The access time
	// is set too: darwin has no UTIME_OMIT, and nothing reads it.)
	now := unix.NsecToTimespec(time.Now().UnixNano())
	times := []unix.Timespec{now, now}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, dir, times, unix.AT_SYMLINK_NOFOLLOW); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("mark sandbox ended: %w", err)
	}
	return nil
}

// garbage is a sandbox that may be collected: the directory of a run
// whose executor exited (run nil), or the sandbox of a task that ended
// in the live run run.
type garbage struct {
	dir   string
	ended time.Time // the directory's modification time (markEnded)
	run   *executorRun
	task  string // the task's ID, with run
}

// collectSandboxes removes the sandboxes that ended long enough ago,
// then, while the disk is short of headroom, the oldest of the rest. It
// returns how many it removed.
func (a *Agent) collectSandboxes(now time.Time) int {
	all := append(a.deadRuns(), a.endedTasks()...)
	sort.Slice(all, func(i, j int) bool { return all[i].ended.Before(all[j].ended) })
	removed := 0
	for _, g := range all {
		if now.Sub(g.ended) < a.cfg.SandboxGCDelay && !a.diskShort() {
			continue
		}
		ok, err := a.collect(g)
		if err != nil {
			a.log.Warn("collect sandbox", "dir", g.dir, "err", err)
		}
		if !ok {
			continue
		}
		removed++
		a.log.Info("collected sandbox", "dir", g.dir, "age", now.Sub(g.ended).Round(time.Second))
	}
	return removed
}

// collect removes one sandbox and reports whether it did.
func (a *Agent) collect(g garbage) (bool, error) {
	if g.run != nil {
		return a.collectTask(g)
	}
	if err := os.RemoveAll(g.dir); err != nil {
		return false, fmt.Errorf("remove run: %w", err)
	}
	a.tidy(g.dir)
	return true, nil
}

// deadRuns lists the run directories of executors the agent does not run:
// sandboxes/<framework>/<executor>/runs/<container>.
func (a *Agent) deadRuns() []garbage {
	// The directories first, the live runs after: a run is registered
	// before its directory is made, so one whose directory the glob
	// found is live by the time the lock is taken, unless it has ended.
	// The other way round, a run started in between looked dead. An
	// executor that exits marks its run ended before it lets go of it
	// (executorExited), so a run that looks dead has its time.
	dirs, _ := filepath.Glob(filepath.Join(a.cfg.sandboxRoot(), "*", "*", "runs", "*"))
	live := map[string]bool{}
	a.mu.Lock()
	for _, r := range a.executors {
		live[r.rec.Dir] = true
	}
	for dir := range a.held {
		live[dir] = true
	}
	a.mu.Unlock()
	var out []garbage
	for _, d := range dirs {
		fi, err := os.Lstat(d)
		if err != nil || !fi.IsDir() || live[d] { // runs/latest is a link
			continue
		}
		out = append(out, garbage{dir: d, ended: fi.ModTime()})
	}
	return out
}

// holdRun keeps the run's directory from the collector until releaseRun,
// whether or not the run is in a.executors. A run leaves a.executors
// when the agent is done with its executor, which is not when everything
// that may write in its directory is: executorExited holds it until it
// has killed what the executor left running and reported its tasks'
// ends, and a launch being prepared (inLine) until it is over, since it
// may still fetch into the run, or start its executor there, after a
// shutdown forgot it (shutdownRun of a run not yet started). Meanwhile a
// new run of the same executor may be registered: the old one is kept
// all the same. a.mu must be held.
func (a *Agent) holdRun(r *executorRun) { a.held[r.rec.Dir]++ }

// releaseRun ends a holdRun. a.mu must not be held.
func (a *Agent) releaseRun(r *executorRun) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.held[r.rec.Dir]--; a.held[r.rec.Dir] <= 0 {
		delete(a.held, r.rec.Dir)
	}
}

// endedTasks lists the sandboxes of ended tasks in the runs of live
// executors: the directories in tasks/ that no task of the run that has
// not ended owns. collectTask looks again, under a.mu, before it takes
// one. The runs of custom executors are left alone (their sandboxes are
// theirs to lay out), and so are those of recovered executors that have
// not subscribed again: until they list their tasks (adoptListed) the
// agent may not know all of them.
func (a *Agent) endedTasks() []garbage {
	type liveRun struct {
		r     *executorRun
		dir   string
		tasks map[string]bool
	}
	var runs []liveRun
	a.mu.Lock()
	for _, r := range a.executors {
		if r.exited || r.rec.ExecutorInfo.Command != nil || r.recovered && !r.subscribed || r.rootTaskLive() {
			continue
		}
		tasks := make(map[string]bool, len(r.tasks))
		for id := range r.tasks {
			tasks[id] = true
		}
		runs = append(runs, liveRun{r: r, dir: filepath.Join(r.rec.Dir, "tasks"), tasks: tasks})
	}
	a.mu.Unlock()
	var out []garbage
	for _, lr := range runs {
		if fi, err := os.Lstat(lr.dir); err != nil || !fi.IsDir() {
			continue // none yet, or not a directory the agent made
		}
		entries, _ := os.ReadDir(lr.dir)
		for _, e := range entries {
			if !e.IsDir() || lr.tasks[e.Name()] {
				continue
			}
			fi, err := e.Info()
			if err != nil {
				continue
			}
			out = append(out, garbage{dir: filepath.Join(lr.dir, e.Name()), ended: fi.ModTime(), run: lr.r, task: e.Name()})
		}
	}
	return out
}

// rootTaskLive reports whether a task that has not ended runs in the
// executor's own sandbox, of which tasks/ is then a part: what is there
// is that task's, not other tasks' sandboxes (a wazero task's executor of
// its own, or the first task launched alone on a named executor, may
// write tasks/cache). a.mu must be held.
func (r *executorRun) rootTaskLive() bool {
	for _, t := range r.tasks {
		if t.dir == r.rec.Dir {
			return true
		}
	}
	return false
}

// collectTask removes the sandbox of an ended task in a live run, unless
// a task of that ID now runs there or its terminal update still waits
// for acknowledgement, and reports whether it did.
//
// The sandbox is renamed away under a.mu, where launchTasks registers a
// task before its sandbox is made: a task launched again under the same
// ID never finds its new sandbox removed under it. The rename is made
// within tasks/, opened without following a link, and the removal, after
// a.mu is released, takes the new name, which no task can own.
func (a *Agent) collectTask(g garbage) (bool, error) {
	tasks := filepath.Dir(g.dir)
	fd, err := unix.Open(tasks, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return false, fmt.Errorf("open %s: %w", tasks, err)
	}
	defer unix.Close(fd)
	trash := ".gc-" + uuid.NewString()
	a.mu.Lock()
	// A terminal update is queued once it is on disk, a moment after the
	// task left r.tasks: for that moment a task's sandbox under disk
	// pressure may go before the framework has seen its end.
	busy := g.run.tasks[g.task] != nil || a.updates.hasTerminal(g.run.key.framework, g.task)
	if !busy {
		err = unix.Renameat(fd, g.task, fd, trash)
	}
	a.mu.Unlock()
	switch {
	case busy:
		return false, nil
	case err != nil:
		return false, fmt.Errorf("move task sandbox aside: %w", err)
	}
	if err := os.RemoveAll(filepath.Join(tasks, trash)); err != nil {
		// What is left goes at a later pass: its name is no task's.
		return true, fmt.Errorf("remove task sandbox: %w", err)
	}
	return true, nil
}

// tidy removes what a collected run leaves behind in its executor's
// directory: links in runs/ that lead nowhere (runs/latest), then
// runs/, the executor's directory and the framework's once they are
// empty. It does so under a.mu and only when no run of the executor (of
// the framework, for its directory) is registered: a run is registered
// (newRunFor) before startExecutor makes its directory and links
// runs/latest to it, so none is being made meanwhile, and a removal
// never pulls a parent from under a run being made.
func (a *Agent) tidy(runDir string) {
	runs := filepath.Dir(runDir)
	exDir := filepath.Dir(runs)
	fwDir := filepath.Dir(exDir)
	key := execKey{filepath.Base(fwDir), filepath.Base(exDir)}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.executors[key] != nil {
		return
	}
	entries, _ := os.ReadDir(runs)
	for _, e := range entries {
		p := filepath.Join(runs, e.Name())
		if e.Type()&fs.ModeSymlink == 0 {
			continue
		}
		if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
			_ = os.Remove(p)
		}
	}
	// os.Remove removes an empty directory only: one that still holds a
	// run stays, and so do its parents.
	if os.Remove(runs) != nil || os.Remove(exDir) != nil {
		return
	}
	for k := range a.executors {
		if k.framework == key.framework {
			return
		}
	}
	_ = os.Remove(fwDir)
}

// diskShort reports whether the work directory's disk has less free space
// than the headroom asks for.
func (a *Agent) diskShort() bool {
	if a.cfg.SandboxGCHeadroom <= 0 {
		return false
	}
	total, free, ok := diskSpace(a.cfg.WorkDir)
	return ok && total > 0 && free/total < a.cfg.SandboxGCHeadroom
}
