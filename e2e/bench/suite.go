//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/e2e/load"
	"github.com/mezzo-cluster/mezzo/sdk/operator"
	"github.com/mezzo-cluster/mezzo/sdk/scheduler"
)

// suite is one run of the harness: where things are and what to do.
type suite struct {
	repo, dir, bin string
	opts           options
	rep            *Report
	prog           *progress

	modMu   sync.Mutex
	modules map[string]string // package -> built .wasm
}

// n picks the full or the quick size.
func (s *suite) n(full, quick int) int {
	if s.opts.quick {
		return quick
	}
	return full
}

// itemDir is a fresh directory for one item's daemons and logs: an
// earlier run's, in the same output directory, is removed first, so
// that no daemon starts on another run's state (a master started on an
// earlier run's registry at a new port refuses to start).
func (s *suite) itemDir(name string) (string, error) {
	d := filepath.Join(s.dir, name)
	if err := os.RemoveAll(d); err != nil {
		return "", fmt.Errorf("item directory: %w", err)
	}
	if err := os.MkdirAll(d, 0o755); err != nil {
		return "", fmt.Errorf("item directory: %w", err)
	}
	return d, nil
}

// profileArgs asks a daemon for a CPU profile when --profile is set.
func (s *suite) profileArgs(dir, name string) []string {
	if !s.opts.profile {
		return nil
	}
	return []string{"--cpuprofile", filepath.Join(dir, name+".cpu.pprof"), "--memprofile", filepath.Join(dir, name+".heap.pprof")}
}

// realCluster starts a master and an agent for an item.
func (s *suite) realCluster(ctx context.Context, item, resources string) (*cluster, error) {
	dir, err := s.itemDir(item)
	if err != nil {
		return nil, err
	}
	return startCluster(ctx, s.bin, clusterOptions{
		dir: dir, agent: true, resources: resources,
		masterArgs: s.profileArgs(dir, "master"), agentArgs: s.profileArgs(dir, "agent"),
	})
}

// module builds (once) and pushes a Go wasip1 module, returning its sha256.
func (s *suite) module(ctx context.Context, addr, pkg string) (string, error) {
	s.modMu.Lock()
	path, ok := s.modules[pkg]
	if !ok {
		s.prog.set("building %s for wasip1", pkg)
		var err error
		if path, err = buildModule(ctx, s.repo, s.dir, pkg); err != nil {
			s.modMu.Unlock()
			return "", err
		}
		s.modules[pkg] = path
	}
	s.modMu.Unlock()
	wasm, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read module: %w", err)
	}
	m, err := operator.New(addr).PushModule(ctx, wasm)
	if err != nil {
		return "", fmt.Errorf("push module %s: %w", pkg, err)
	}
	return m.SHA256, nil
}

// trivial is the resources of a trivial task.
var trivial = api.Resources{api.ScalarResource("cpus", 0.1), api.ScalarResource("mem", 32)}

// wasmTask returns a task factory for a module on an engine ("" for the
// agent's default).
func wasmTask(sha, engine string, args ...string) func(int) api.TaskInfo {
	return func(int) api.TaskInfo {
		t := scheduler.WasmTask("", "", "", sha, args, trivial)
		t.Container.Wasm.Engine = engine
		return t
	}
}

// nativeTask runs /bin/true.
func nativeTask(int) api.TaskInfo { return scheduler.CommandTask("", "", "", "/bin/true", trivial) }

// runLoad runs a load with a progress line.
func (s *suite) runLoad(ctx context.Context, label string, cfg load.Config) (load.Result, error) {
	cfg.Progress = func(c load.Counts) {
		s.prog.set("%s: launched %d, running %d, finished %d of %d", label, c.Launched, c.Running, c.Finished, cfg.Tasks)
	}
	if cfg.Name == "" {
		cfg.Name = "bench"
	}
	res, err := load.Run(ctx, cfg)
	if err != nil {
		return res, fmt.Errorf("%s: %w", label, err)
	}
	if res.Failed > 0 {
		return res, fmt.Errorf("%s: %d of %d tasks failed", label, res.Failed, cfg.Tasks)
	}
	return res, nil
}

// percentile returns the p-th percentile (0 < p <= 100) of ds, nearest
// rank.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	k := int(float64(len(s))*p/100+0.999999) - 1
	return s[max(0, min(k, len(s)-1))]
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// waitExecutors waits, up to limit, until the agent has no executor
// processes left, so that their CPU shows in the agent's reaped
// children.
func waitExecutors(c *cluster, limit time.Duration) int {
	deadline := time.Now().Add(limit)
	for {
		n := len(descendants(c.agent.pid()))
		if n == 0 || time.Now().After(deadline) {
			return n
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// platformCPU is the CPU used so far by the master and the agent with
// its executors (live and reaped).
func platformCPU(c *cluster) (time.Duration, error) {
	m, err := treeCPU(c.master.pid())
	if err != nil {
		return 0, err
	}
	a, err := treeCPU(c.agent.pid())
	if err != nil {
		return 0, err
	}
	return m + a, nil
}
