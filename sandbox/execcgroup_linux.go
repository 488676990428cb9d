package sandbox

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/containerd/cgroups/v3/cgroup1"
	"github.com/containerd/cgroups/v3/cgroup2"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// ExecutorCgroup is the cgroup of one executor process: it caps the
// memory of the executor and of everything it runs — its Wasm tasks,
// which live in its process, and its native tasks, whose own cgroups are
// nested in it — so that what an executor cannot stop in-process costs
// that executor and its tasks, never the machine or other executors. See
// RATIONALE.md, "Why a cgroup per executor, above the task cgroups?".
//
// On cgroup v1 it is made in the memory hierarchy only: the executor's
// native tasks make theirs below it there (Spec.CgroupParent's relative
// default nests them in the caller's own cgroup), and in the cpu and
// cpuacct hierarchies where they always did, so CPU is shared among
// tasks as before. On v2 the hierarchy is one: the executor runs in the
// cgroup's leaf "executor", its tasks' cgroups are made beside that leaf
// (TaskParent), and the cgroup's CPU weight is its tasks' sum
// (ExecutorLimits.CPUs), so that nesting the tasks does not change their
// share of CPU.
//
// Its methods are safe for concurrent use.
type ExecutorCgroup struct {
	path string // absolute, in the memory (v1) or unified (v2) hierarchy
	dir  string // its directory
	v2   bool
	m2   *cgroup2.Manager // v2's; v1 caps are written directly (setMemoryV1)
}

// executorLeaf is the v2 cgroup, inside an executor's, that holds the
// executor process: a v2 cgroup that holds processes cannot hand its
// controllers to children, and the task cgroups are its children.
const executorLeaf = "executor"

// NewExecutorCgroup makes the cgroup name under parent, with the limits
// lim. parent is relative and clean; on v1 it is placed below the
// calling process's own memory cgroup, on v2 below the root (as
// Spec.CgroupParent is). name is one path element. It fails, wrapping
// errors.ErrUnsupported, where CgroupsAvailable finds no usable cgroups.
func NewExecutorCgroup(parent, name string, lim ExecutorLimits) (*ExecutorCgroup, error) {
	if err := checkCgroupNames(parent, name); err != nil {
		return nil, err
	}
	pr := probed()
	switch pr.version {
	case "v1":
		own, ok := pr.own[cgroup1.Memory]
		if !ok {
			return nil, errors.New("create executor cgroup: no memory cgroup of our own")
		}
		p := path.Join(own, parent, name)
		if _, err := cgroup1.New(cgroup1.StaticPath(p), lim.v1Resources(), cgroup1.WithHierarchy(memoryHierarchy)); err != nil {
			_ = removeTree(filepath.Join(cgroupRoot, string(cgroup1.Memory), p))
			return nil, fmt.Errorf("create cgroup v1 memory:%s: %w", p, err)
		}
		return &ExecutorCgroup{path: p, dir: filepath.Join(cgroupRoot, string(cgroup1.Memory), p)}, nil
	case "v2":
		p := path.Join("/", parent, name)
		m, err := cgroup2.NewManager(cgroupRoot, p, lim.v2Resources())
		if err != nil {
			return nil, fmt.Errorf("create cgroup v2 %s: %w", p, err)
		}
		g := &ExecutorCgroup{path: p, dir: filepath.Join(cgroupRoot, p), v2: true, m2: m}
		// The leaf: making it enables memory and cpu in the executor's
		// cgroup for its children.
		leaf := &cgroup2.Resources{Memory: &cgroup2.Memory{}, CPU: &cgroup2.CPU{}}
		if _, err := cgroup2.NewManager(cgroupRoot, path.Join(p, executorLeaf), leaf); err != nil {
			_ = removeTree(g.dir)
			return nil, fmt.Errorf("create cgroup v2 %s: %w", path.Join(p, executorLeaf), err)
		}
		if err := g.noSwap(); err != nil {
			_ = removeTree(g.dir)
			return nil, err
		}
		return g, nil
	}
	_, err := CgroupsAvailable()
	return nil, fmt.Errorf("create executor cgroup: %w (%w)", errors.ErrUnsupported, err)
}

// LoadExecutorCgroup finds the executor cgroup at p, as Path returned it
// (an agent recovering its executors after a restart).
func LoadExecutorCgroup(p string) (*ExecutorCgroup, error) {
	if !path.IsAbs(p) || path.Clean(p) != p || p == "/" {
		return nil, fmt.Errorf("load executor cgroup: %q is not a clean absolute path", p)
	}
	var g *ExecutorCgroup
	switch probed().version {
	case "v1":
		g = &ExecutorCgroup{path: p, dir: filepath.Join(cgroupRoot, string(cgroup1.Memory), p)}
	case "v2":
		g = &ExecutorCgroup{path: p, dir: filepath.Join(cgroupRoot, p), v2: true}
	default:
		return nil, fmt.Errorf("load executor cgroup %s: %w", p, errors.ErrUnsupported)
	}
	if _, err := os.Stat(g.dir); err != nil {
		return nil, fmt.Errorf("load executor cgroup: %w", err)
	}
	if g.v2 {
		m, err := cgroup2.Load(p, cgroup2.WithMountpoint(cgroupRoot))
		if err != nil {
			return nil, fmt.Errorf("load executor cgroup %s: %w", p, err)
		}
		g.m2 = m
	}
	return g, nil
}

// checkCgroupNames checks an executor cgroup's parent and name.
func checkCgroupNames(parent, name string) error {
	if parent == "" || path.IsAbs(parent) || path.Clean(parent) != parent || parent == ".." || strings.HasPrefix(parent, "../") || strings.ContainsRune(parent, 0) {
		return fmt.Errorf("executor cgroup parent %q is not a clean relative path", parent)
	}
	if name == "" || name == "." || name == ".." || name == executorLeaf || strings.ContainsAny(name, "/\x00") {
		return fmt.Errorf("executor cgroup name %q is not one path element", name)
	}
	return nil
}

// memoryHierarchy is the one v1 hierarchy an executor cgroup is made in.
func memoryHierarchy() ([]cgroup1.Subsystem, error) {
	return []cgroup1.Subsystem{cgroup1.NewMemory(cgroupRoot, cgroup1.OptionalSwap())}, nil
}

// v1Resources are the limits as written to a v1 memory cgroup: the cap,
// and the same cap on memory and swap together where the kernel
// accounts for swap.
func (l ExecutorLimits) v1Resources() *specs.LinuxResources {
	// No cap is a huge one, not -1, so that setMemoryV1 can order the
	// writes of the two caps as the kernel requires (memsw ≥ limit).
	c := int64(min(cmp.Or(l.MemoryBytes, 1<<62), 1<<62))
	res := &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &c}}
	if _, err := os.Stat(filepath.Join(cgroupRoot, "memory", "memory.memsw.limit_in_bytes")); err == nil {
		res.Memory.Swap = new(c)
	}
	return res
}

// v2Resources are the limits as written to a v2 cgroup.
func (l ExecutorLimits) v2Resources() *cgroup2.Resources {
	c := int64(-1) // "max"
	if l.MemoryBytes > 0 {
		c = int64(min(l.MemoryBytes, 1<<62))
	}
	res := &cgroup2.Resources{Memory: &cgroup2.Memory{Max: &c}, CPU: &cgroup2.CPU{}}
	if l.CPUs > 0 {
		res.CPU.Weight = new(cgroupLimits{cpus: l.CPUs}.weight())
	}
	return res
}

// noSwap turns swap off in a v2 executor cgroup, where the kernel
// accounts for swap.
func (g *ExecutorCgroup) noSwap() error {
	err := os.WriteFile(filepath.Join(g.dir, "memory.swap.max"), []byte("0"), 0)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("disable swap in cgroup v2 %s: %w", g.path, err)
	}
	return nil
}

// Path is the cgroup's absolute path in its hierarchy (the memory one on
// v1), for LoadExecutorCgroup.
func (g *ExecutorCgroup) Path() string { return g.path }

// TaskParent is the Spec.CgroupParent the executor's native tasks need
// for their cgroups to nest in this one: "" (the relative default, below
// the executor's own cgroup) on v1, the cgroup's path on v2.
func (g *ExecutorCgroup) TaskParent() string {
	if g.v2 {
		return g.path
	}
	return ""
}

// Start starts cmd with its first process already in the cgroup (see
// taskCgroup.start for how).
func (g *ExecutorCgroup) Start(cmd *exec.Cmd) error {
	if g.v2 {
		return startInto(cmd, filepath.Join(g.dir, executorLeaf))
	}
	return startFromThread(cmd, func() error { return joinSelf(g.dir) }, "memory:"+g.path, nil)
}

// SetLimits changes the cgroup's limits. Lowering the memory cap below
// what the cgroup uses makes the kernel reclaim; on v1 the write fails
// if it cannot, and the old cap stays, on v2 the OOM killer acts.
func (g *ExecutorCgroup) SetLimits(lim ExecutorLimits) error {
	var err error
	if g.v2 {
		err = g.m2.Update(lim.v2Resources())
	} else {
		err = setMemoryV1(g.dir, *lim.v1Resources().Memory.Limit)
	}
	if err != nil {
		return fmt.Errorf("set limits of cgroup %s: %w", g.path, err)
	}
	return nil
}

// Enforced is lim as far as this cgroup enforces it: without CPUs on
// v1, which caps only memory here. A caller that compares the limits it
// wants with the ones it set then writes only for a change that takes
// effect: an executor's CPUs change with every task it runs, and on v1
// each such launch cost a rewrite of the same memory cap (90 µs at the
// median, on the launch path).
func (g *ExecutorCgroup) Enforced(lim ExecutorLimits) ExecutorLimits {
	if !g.v2 {
		lim.CPUs = 0
	}
	return lim
}

// setMemoryV1 writes a v1 memory cap into the memory cgroup at dir, and
// the same cap on memory and swap where the kernel has it, in the order
// the kernel requires (memsw ≥ limit at every step): memsw first when
// the cap grows. containerd's Update means to, but swaps the wrong two
// settings.
func setMemoryV1(dir string, c int64) error {
	files := []string{"memory.limit_in_bytes"}
	if _, err := os.Stat(filepath.Join(dir, "memory.memsw.limit_in_bytes")); err == nil {
		files = append(files, "memory.memsw.limit_in_bytes")
		if cur, err := readCgroupUint(filepath.Join(dir, files[0])); err == nil && cur < uint64(c) {
			slices.Reverse(files)
		}
	}
	v := []byte(strconv.FormatInt(c, 10))
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f), v, 0); err != nil {
			return err
		}
	}
	return nil
}

// OOMKilled reports whether the kernel's OOM killer has killed a process
// of the executor's own (not of a task cgroup below it): on v1 the
// cgroup's own oom_kill count, on v2 its leaf's.
func (g *ExecutorCgroup) OOMKilled() bool {
	var n uint64
	if g.v2 {
		n = eventCount(filepath.Join(g.dir, executorLeaf, "memory.events"), "oom_kill")
	} else {
		n = eventCount(filepath.Join(g.dir, "memory.oom_control"), "oom_kill")
	}
	return n > 0
}

// MemoryBytes is the memory the cgroup uses now (v1's
// memory.usage_in_bytes, v2's memory.current); 0 when it cannot be read.
func (g *ExecutorCgroup) MemoryBytes() uint64 {
	f := "memory.usage_in_bytes"
	if g.v2 {
		f = "memory.current"
	}
	n, _ := readCgroupUint(filepath.Join(g.dir, f))
	return n
}

// PeakMemoryBytes is the most memory the cgroup has used (v1's
// memory.max_usage_in_bytes, v2's memory.peak where the kernel has it);
// 0 when it cannot be read.
func (g *ExecutorCgroup) PeakMemoryBytes() uint64 {
	f := "memory.max_usage_in_bytes"
	if g.v2 {
		f = "memory.peak"
	}
	n, _ := readCgroupUint(filepath.Join(g.dir, f))
	return n
}

// eventCount reads one "name value" line of a cgroup's flat-keyed file.
func eventCount(file, name string) uint64 {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			n, _ := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}

// Destroy kills every process left in the cgroup and in the task cgroups
// below it, and removes them all. It gives up after timeout, returning
// an error, if a process outlives SIGKILL (one in uninterruptible sleep,
// say).
//
// On v1 the executor's task cgroups (and its CgroupSpares' spare) are
// below it in the memory hierarchy only; in the cpu and cpuacct ones
// they are below the executor process's own cgroups, which are the
// caller's (the executor joined only the memory cgroup: Start), where
// nothing else would remove them once the executor is killed. Destroy
// removes those too: the cgroups of the same names (task-<random hex>,
// at the same paths below the caller's own cgroups as below this one),
// and kills what is left in them.
func (g *ExecutorCgroup) Destroy(timeout time.Duration) error {
	var outside []string
	if !g.v2 {
		outside = g.taskCgroupsOutside()
	}
	deadline := time.Now().Add(timeout)
	for d := time.Millisecond; ; d = min(2*d, 50*time.Millisecond) {
		err := removeTree(g.dir)
		for _, dir := range outside {
			err = cmp.Or(err, removeTree(dir))
		}
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("remove cgroup %s: %w", g.path, err)
		}
		time.Sleep(d)
	}
}

// taskCgroupsOutside lists the directories, in the v1 cpu and cpuacct
// hierarchies, of the task cgroups below a v1 executor cgroup (see
// Destroy): for each task-* cgroup below it in the memory hierarchy, the
// one at the same path below the calling process's own cgroup in each
// of the other two, deepest first. Where cpu and cpuacct are mounted
// together, each is listed once.
func (g *ExecutorCgroup) taskCgroupsOutside() []string {
	var rels []string
	_ = filepath.WalkDir(g.dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() && strings.HasPrefix(d.Name(), "task-") {
			if rel, err := filepath.Rel(g.dir, p); err == nil {
				rels = append(rels, rel)
			}
		}
		return nil
	})
	slices.Reverse(rels) // children first
	var bases []string
	for _, c := range []cgroup1.Name{cgroup1.Cpu, cgroup1.Cpuacct} {
		own, ok := probed().own[c]
		if !ok {
			continue
		}
		root := filepath.Join(cgroupRoot, string(c))
		if r, err := filepath.EvalSymlinks(root); err == nil {
			root = r // cpu and cpuacct may be links to "cpu,cpuacct"
		}
		if b := filepath.Join(root, own); !slices.Contains(bases, b) {
			bases = append(bases, b)
		}
	}
	var dirs []string
	for _, rel := range rels {
		for _, b := range bases {
			dirs = append(dirs, filepath.Join(b, rel))
		}
	}
	return dirs
}

// removeTree sends SIGKILL to every process in the cgroup at dir and the
// cgroups below it, except the calling process (which may be passing
// through, see taskCgroup.start), and removes them, deepest first. It
// returns the first error; a cgroup that still holds a process cannot be
// removed (EBUSY), and the caller tries again.
func removeTree(dir string) error {
	var dirs []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) && len(dirs) == 0 {
		return nil
	}
	self := strconv.Itoa(os.Getpid())
	for _, d := range dirs {
		b, _ := os.ReadFile(filepath.Join(d, "cgroup.procs"))
		for _, f := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil && f != self {
				_ = unix.Kill(pid, unix.SIGKILL)
			}
		}
	}
	slices.Reverse(dirs) // children first
	var first error
	for _, d := range dirs {
		if err := os.Remove(d); err != nil && !errors.Is(err, fs.ErrNotExist) && first == nil {
			first = err
		}
	}
	return first
}

// SweepExecutorCgroups destroys (Destroy) the executor cgroups under
// parent (as NewExecutorCgroup resolves it) whose path keep does not
// hold: what executors that died with their agent left behind. parent
// itself goes too once it is empty (NewExecutorCgroup makes it again).
// It returns how many executor cgroups it removed, and the first error.
func SweepExecutorCgroups(parent string, keep map[string]bool) (int, error) {
	if err := checkCgroupNames(parent, "x"); err != nil {
		return 0, err
	}
	var base, dir string
	switch pr := probed(); pr.version {
	case "v1":
		base = path.Join(pr.own[cgroup1.Memory], parent)
		dir = filepath.Join(cgroupRoot, string(cgroup1.Memory), base)
	case "v2":
		base = path.Join("/", parent)
		dir = filepath.Join(cgroupRoot, base)
	default:
		return 0, nil
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	} else if err != nil {
		return 0, fmt.Errorf("sweep executor cgroups: %w", err)
	}
	removed := 0
	var first error
	for _, e := range entries {
		p := path.Join(base, e.Name())
		if !e.IsDir() || keep[p] {
			continue
		}
		g, err := LoadExecutorCgroup(p)
		if err == nil {
			err = g.Destroy(5 * time.Second)
		}
		if err != nil {
			first = cmp.Or(first, err)
			continue
		}
		removed++
	}
	_ = os.Remove(dir) // rmdir: refused while a cgroup is left in it
	return removed, first
}

// MemoryLimit returns the memory cap the calling process runs under: the
// lowest of its cgroup's and its ancestors' (the memory hierarchy on v1,
// the unified one on v2), so an executor finds the cap of its
// ExecutorCgroup above its v2 leaf. It reports false when there is no
// cap or cgroups cannot say.
func MemoryLimit() (uint64, bool) {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return 0, false
	}
	v := probed().version
	var root, own, file string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.SplitN(line, ":", 3)
		switch {
		case len(f) != 3:
		case v == "v1" && slices.Contains(strings.Split(f[1], ","), "memory"):
			root, own, file = filepath.Join(cgroupRoot, "memory"), f[2], "memory.limit_in_bytes"
		case v == "v2" && f[0] == "0" && f[1] == "":
			root, own, file = cgroupRoot, f[2], "memory.max"
		}
	}
	if root == "" {
		return 0, false
	}
	limit := uint64(0)
	for p := path.Clean("/" + own); p != "/"; p = path.Dir(p) {
		n, err := readCgroupUint(filepath.Join(root, p, file)) // "max" fails to parse: no cap
		if err == nil && n < 1<<62 && (limit == 0 || n < limit) {
			limit = n
		}
	}
	return limit, limit > 0
}
