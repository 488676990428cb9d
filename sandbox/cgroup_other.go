//go:build !linux

package sandbox

import (
	"errors"
	"fmt"
	"os/exec"
	"runtime"
	"time"
)

// CgroupsAvailable reports which cgroup version native tasks are
// confined with. Cgroups exist on Linux only; elsewhere it returns an
// error wrapping errors.ErrUnsupported.
func CgroupsAvailable() (string, error) {
	return "", fmt.Errorf("cgroups on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}

// SweepCgroups removes nothing where there are no cgroups.
func SweepCgroups(parent string) int { return 0 }

// ExecutorCgroup is the cgroup of one executor process; cgroups exist on
// Linux only, and NewExecutorCgroup always fails elsewhere.
type ExecutorCgroup struct{}

// NewExecutorCgroup fails where there are no cgroups, wrapping
// errors.ErrUnsupported.
func NewExecutorCgroup(parent, name string, lim ExecutorLimits) (*ExecutorCgroup, error) {
	return nil, fmt.Errorf("executor cgroup on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}

// LoadExecutorCgroup fails where there are no cgroups, wrapping
// errors.ErrUnsupported.
func LoadExecutorCgroup(p string) (*ExecutorCgroup, error) {
	return nil, fmt.Errorf("executor cgroup on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}

// SweepExecutorCgroups removes nothing where there are no cgroups.
func SweepExecutorCgroups(parent string, keep map[string]bool) (int, error) { return 0, nil }

// Path is "": there is no such cgroup.
func (g *ExecutorCgroup) Path() string { return "" }

// TaskParent is "": there is no such cgroup.
func (g *ExecutorCgroup) TaskParent() string { return "" }

// Start fails, wrapping errors.ErrUnsupported.
func (g *ExecutorCgroup) Start(cmd *exec.Cmd) error { return errors.ErrUnsupported }

// SetLimits fails, wrapping errors.ErrUnsupported.
func (g *ExecutorCgroup) SetLimits(lim ExecutorLimits) error { return errors.ErrUnsupported }

// Enforced is lim: there is no such cgroup, and SetLimits fails.
func (g *ExecutorCgroup) Enforced(lim ExecutorLimits) ExecutorLimits { return lim }

// OOMKilled is false: there is no such cgroup.
func (g *ExecutorCgroup) OOMKilled() bool { return false }

// MemoryBytes is 0: there is no such cgroup.
func (g *ExecutorCgroup) MemoryBytes() uint64 { return 0 }

// PeakMemoryBytes is 0: there is no such cgroup.
func (g *ExecutorCgroup) PeakMemoryBytes() uint64 { return 0 }

// Destroy does nothing: there is no such cgroup.
func (g *ExecutorCgroup) Destroy(timeout time.Duration) error { return nil }

// MemoryLimit reports false: there are no cgroups.
func MemoryLimit() (uint64, bool) { return 0, false }
