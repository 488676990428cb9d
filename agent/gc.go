package agent

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
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
// agent still knows or holds (holdRun), the sandbox of a task that has
// not ended or whose terminal update waits for its acknowledgement, and
// a live executor's own sandbox (where its first task may have run).
//
// When a run ended is its directory's modification time, written then
// (markEnded) by executorExited (and forgetRecovered, for an executor
// that died while the agent was down). When a task ended is kept in its
// run's queue (below) and written on its sandbox too, once a.mu is
// released (executorRun.remove), for a restarted agent. Why file times
// rather than agent.db: a run's record leaves agent.db when its executor
// exits, the time must outlive agent restarts, and a file time needs no
// write to agent.db on the path of every task's end. Mesos does the
// same: its agent touches a run's directory when it schedules it for
// collection and, after a restart, counts the delay from that time.
// Nothing adds to a sandbox's top directory once what ran there has
// ended, so the time stays; a later change only keeps the sandbox
// longer.
//
// Runs are found by listing the runs' directories, a few per executor.
// The sandboxes of a live run's ended tasks are not: a shared executor
// may have ended a million within the delay. Each live run keeps them in
// a queue, in the order they ended (executorRun.collectable; see
// remove), and a collection looks only at its front, what is due; a
// restarted agent rebuilds the queue from the directories' times
// (endedOnDisk).
//
// A task's sandbox is not collected before the framework has heard of
// the task's end: a collection waits until the terminal updates of the
// sandboxes it looks at are on disk, then leaves those that wait for
// their acknowledgement. An update that could not be written at all
// (agent.db's disk full, say) is neither: nothing says the framework will
// hear of the end. An executor keeps an update the agent did not
// acknowledge and sends it again when it subscribes again (the failed
// write closed its stream): the sandbox leaves the queue and is queued
// again, counted from the task's end, once that update is written
// (executorRun.unwritten), then waits for its acknowledgement as any.
// An update the agent made itself is not made again: its sandbox is not
// queued, and goes with its run. So does one whose update, sent again,
// was written and acknowledged before a collection found the first
// write failed. Why not collect them after the delay all the same: the
// framework, which may learn of the end later (the master reconciles),
// would find the task's output gone; the other sandboxes free room as
// well.

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

// markEnded writes at as dir's modification time, which a restarted
// agent counts a sandbox's age from (see the comment at the top of
// gc.go). A directory that is not there (a task killed before its
// sandbox was made, or one collected already) is no error.
func markEnded(dir string, at time.Time) error {
	// A link is not followed: a task that runs in its executor's own
	// sandbox could plant one where another task's sandbox was, and the
	// agent, as root, must not touch what it leads to. (The access time
	// is set too: darwin has no UTIME_OMIT, and nothing reads it.)
	ts := unix.NsecToTimespec(at.UnixNano())
	times := []unix.Timespec{ts, ts}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, dir, times, unix.AT_SYMLINK_NOFOLLOW); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("mark sandbox ended: %w", err)
	}
	return nil
}

// endedSandbox is the sandbox of a task that ended in a live run, in the
// run's queue (executorRun.collectable).
type endedSandbox struct {
	name string    // its directory in tasks/: the task's ID, or what a removal cut short left
	at   time.Time // when the task ended
	// lost, if set, is set if the task's terminal update, queued for
	// agent.db when the sandbox was queued, could not be written; nil
	// for an update written before (the agent's own: reportFor) and
	// for a queue rebuilt at a restart (endedOnDisk).
	lost *atomic.Bool
}

// taken is the front of a live run's queue that a collection looks at:
// what is due. gone says, by position, which of it the collection is
// done with; the rest stays at the front of the queue (dropTaken).
type taken struct {
	r    *executorRun
	gone []bool
}

// garbage is a sandbox that may be collected: the directory of a run
// whose executor exited (from nil), or the sandbox of a task that ended
// in a live run, e, the i-th of from.
type garbage struct {
	dir   string
	ended time.Time // when what ran there ended
	from  *taken
	i     int
	e     endedSandbox
}

// collectSandboxes removes the sandboxes that ended long enough ago,
// then, while the disk is short of headroom, the oldest of the rest. It
// returns how many it removed.
func (a *Agent) collectSandboxes(now time.Time) int {
	a.gcMu.Lock()
	defer a.gcMu.Unlock()
	queues, tasks := a.endedTasks(now)
	if len(tasks) > 0 {
		// A sandbox is queued once its task's terminal update is queued
		// for agent.db (executorRun.remove): once the writes queued
		// before this one are on disk, each of these tasks' updates is,
		// and waits for its acknowledgement (collectTask) unless it has
		// it. A sandbox taken before could be gone while the framework
		// has not heard of its task's end, nor would after a crash.
		if err := a.barrier().wait(); err != nil {
			a.log.Warn("collect no task sandbox", "err", err)
			tasks = nil
		}
	}
	all := append(a.deadRuns(), tasks...)
	sort.SliceStable(all, func(i, j int) bool { return all[i].ended.Before(all[j].ended) })
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
	a.mu.Lock()
	for _, q := range queues {
		q.r.dropTaken(q.gone)
	}
	a.mu.Unlock()
	return removed
}

// collect removes one sandbox and reports whether it did.
func (a *Agent) collect(g garbage) (bool, error) {
	if g.from != nil {
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

// endedTasks returns the fronts of the live runs' queues of ended tasks'
// sandboxes that are due at now (all of each queue when the disk is
// short), and those sandboxes. collectTask looks again, under a.mu,
// before it takes one. The runs of custom executors have no queue (their
// sandboxes are theirs to lay out); those of recovered executors that
// have not subscribed again are left alone, since until they list their
// tasks (adoptListed) the agent may not know all of them, and so are
// those whose own sandbox a live task runs in (rootTaskLive). A run
// left alone, or with nothing due, costs no look at its queue past the
// front.
func (a *Agent) endedTasks(now time.Time) ([]*taken, []garbage) {
	short := a.diskShort()
	due := func(e endedSandbox) bool { return short || now.Sub(e.at) >= a.cfg.SandboxGCDelay }
	a.mu.Lock()
	defer a.mu.Unlock()
	var queues []*taken
	var out []garbage
	for _, r := range a.executors {
		if len(r.collectable) == 0 || r.exited || r.recovered && !r.subscribed || !due(r.collectable[0]) || r.rootTaskLive() {
			continue
		}
		n := 1
		for n < len(r.collectable) && due(r.collectable[n]) {
			n++
		}
		q := &taken{r: r, gone: make([]bool, n)}
		r.taking = n
		queues = append(queues, q)
		tasks := filepath.Join(r.rec.Dir, "tasks")
		for i, e := range r.collectable[:n] {
			out = append(out, garbage{dir: filepath.Join(tasks, e.name), ended: e.at, from: q, i: i, e: e})
		}
	}
	return queues, out
}

// dropTaken takes out of the front of the queue the entries a collection
// is done with (gone, by position); those it is not done with, still
// due, stay in front, in order. It costs the length of gone, whatever
// the queue's. a.mu must be held.
func (r *executorRun) dropTaken(gone []bool) {
	q := r.collectable
	j := len(gone)
	for i := len(gone) - 1; i >= 0; i-- {
		if !gone[i] {
			j--
			q[j] = q[i]
		}
	}
	clear(q[:j])
	r.collectable = q[j:]
	r.taking = 0
}

// enqueue puts e in the run's queue in the order of the ends, after the
// front a collection holds (taking). The queue is nearly in order — an
// end reported late (reportFor), a sandbox queued again at its later
// change (collectTask) — so the place is searched from the tail. In
// order it must be: a collection stops at the first entry not due, and
// one behind a later end would wait for that end's delay too. a.mu must
// be held.
func (r *executorRun) enqueue(e endedSandbox) {
	i := len(r.collectable)
	for i > r.taking && r.collectable[i-1].at.After(e.at) {
		i--
	}
	r.collectable = slices.Insert(r.collectable, i, e)
}

// endedOnDisk rebuilds, for a recovered run of Mezzo's executor, its
// queue of ended tasks' sandboxes (executorRun.collectable) from what is
// on disk: the directories in tasks/ that no task of the run that has not
// ended owns, oldest first by their times (markEnded). A task of the run
// that the agent learns of later (adoptListed) is found live when its
// turn comes (collectTask).
func (r *executorRun) endedOnDisk() []endedSandbox {
	if r.rec.ExecutorInfo.Command != nil {
		return nil
	}
	dir := filepath.Join(r.rec.Dir, "tasks")
	if fi, err := os.Lstat(dir); err != nil || !fi.IsDir() {
		return nil // none yet, or not a directory the agent made
	}
	entries, _ := os.ReadDir(dir)
	var out []endedSandbox
	for _, e := range entries {
		if !e.IsDir() || r.tasks[e.Name()] != nil {
			continue
		}
		if fi, err := e.Info(); err == nil {
			out = append(out, endedSandbox{name: e.Name(), at: fi.ModTime()})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].at.Before(out[j].at) })
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

// isTaskDirName reports whether name can only be an entry of tasks/
// itself: the collector renames and removes nothing else.
func isTaskDirName(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.ContainsAny(name, "/\x00")
}

// collectTask removes the sandbox of an ended task in a live run and
// reports whether it did. It leaves it while its terminal update waits
// for acknowledgement (to look again at the next collection), and
// forgets it when a task of that ID runs there again (its end queues it
// anew) or when it changed after the end it was queued for (a task of
// that ID ran and ended there since, or what the task left wrote there:
// it is queued again at that later time).
//
// The sandbox is renamed away under a.mu, where launchTasks registers a
// task before its sandbox is made: a task launched again under the same
// ID never finds its new sandbox removed under it. The rename is made
// within tasks/, opened without following a link, and the removal, after
// a.mu is released, takes the new name, which no task can own.
//
// Only collections take entries out of the queue or rename them, one
// collection at a time: e, taken when the collection began, is still the
// i-th entry.
func (a *Agent) collectTask(g garbage) (bool, error) {
	r, e := g.from.r, g.e
	if e.lost != nil && e.lost.Load() {
		a.unwritten(g)
		return false, nil
	}
	if a.updates.hasTerminal(r.key.framework, e.name) {
		// Its terminal update, on disk (see collectSandboxes), waits for
		// the framework's acknowledgement: tried again next time, at the
		// cost of this look only. (Looked at again below, under a.mu:
		// a task of that ID may end there meanwhile.)
		return false, nil
	}
	tasks := filepath.Join(r.rec.Dir, "tasks")
	fd, err := unix.Open(tasks, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		// Not there, or not a directory the agent made: nothing of the
		// task's to collect. Anything else may pass.
		g.from.gone[g.i] = errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR)
		return false, fmt.Errorf("open %s: %w", tasks, err)
	}
	defer unix.Close(fd)
	trash := ".gc-" + uuid.NewString() // made here, not under a.mu
	renamed := false
	a.mu.Lock()
	fi, statErr := os.Lstat(filepath.Join(tasks, e.name))
	switch {
	case !isTaskDirName(e.name) || r.tasks[e.name] != nil || statErr != nil:
		g.from.gone[g.i] = true
	case a.updates.hasTerminal(r.key.framework, e.name):
		// A task of that ID ended there since the look above: as above.
	case fi.ModTime().After(e.at):
		g.from.gone[g.i] = true
		r.enqueue(endedSandbox{name: e.name, at: fi.ModTime()})
	default:
		if err = unix.Renameat(fd, e.name, fd, trash); err == nil {
			renamed = true
			r.collectable[g.i].name = trash // what a removal cut short leaves goes at a later collection
		}
	}
	a.mu.Unlock()
	switch {
	case err != nil:
		return false, fmt.Errorf("move task sandbox aside: %w", err)
	case !renamed:
		return false, nil
	}
	if err := os.RemoveAll(filepath.Join(tasks, trash)); err != nil {
		return true, fmt.Errorf("remove task sandbox: %w", err)
	}
	g.from.gone[g.i] = true
	return true, nil
}

// unwritten takes out of the queue the sandbox of a task whose terminal
// update could not be written to agent.db, unless it was written since
// (sent again), and keeps when the task ended for when it is
// (executorRun.unwritten).
func (a *Agent) unwritten(g garbage) {
	r, e := g.from.r, g.e
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.updates.hasTerminal(r.key.framework, e.name) {
		r.collectable[g.i].lost = nil // waits for its acknowledgement, as any
		return
	}
	g.from.gone[g.i] = true
	if r.unwritten == nil {
		r.unwritten = map[string]time.Time{}
	}
	r.unwritten[e.name] = e.at
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
