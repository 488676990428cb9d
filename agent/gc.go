package agent

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// Sandboxes of executors that have exited are garbage: they stay for
// Config.SandboxGCDelay so that people can read what the tasks wrote, then
// go (Mesos's --gc_delay). When the disk holding the work directory runs
// short of Config.SandboxGCHeadroom free, the oldest go sooner. A run of
// an executor the agent still knows is never collected.

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

// sandboxRun is one executor run directory on disk.
type sandboxRun struct {
	dir      string
	modified time.Time
}

// collectSandboxes removes the runs that are old enough, then, while the
// disk is short of headroom, the oldest of the rest. It returns how many
// it removed.
func (a *Agent) collectSandboxes(now time.Time) int {
	runs := a.deadRuns()
	sort.Slice(runs, func(i, j int) bool { return runs[i].modified.Before(runs[j].modified) })
	removed := 0
	for _, r := range runs {
		if now.Sub(r.modified) < a.cfg.SandboxGCDelay && !a.diskShort() {
			continue
		}
		if err := os.RemoveAll(r.dir); err != nil {
			a.log.Warn("collect sandbox", "dir", r.dir, "err", err)
			continue
		}
		removed++
		a.log.Info("collected sandbox", "dir", r.dir, "age", now.Sub(r.modified).Round(time.Second))
	}
	return removed
}

// deadRuns lists the run directories of executors the agent does not run:
// sandboxes/<framework>/<executor>/runs/<container>.
func (a *Agent) deadRuns() []sandboxRun {
	// The directories first, the live runs after: a run is registered
	// before its directory is made, so one whose directory the glob
	// found is live by the time the lock is taken, unless it has ended.
	// The other way round, a run started in between looked dead.
	dirs, _ := filepath.Glob(filepath.Join(a.cfg.sandboxRoot(), "*", "*", "runs", "*"))
	live := map[string]bool{}
	a.mu.Lock()
	for _, r := range a.executors {
		live[r.rec.Dir] = true
	}
	a.mu.Unlock()
	var out []sandboxRun
	for _, d := range dirs {
		fi, err := os.Lstat(d)
		if err != nil || !fi.IsDir() || live[d] { // runs/latest is a link
			continue
		}
		out = append(out, sandboxRun{dir: d, modified: fi.ModTime()})
	}
	return out
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
