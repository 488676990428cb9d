//go:build !linux

package sandbox

import (
	"errors"
	"fmt"
	"runtime"
)

// CgroupsAvailable reports which cgroup version native tasks are
// confined with. Cgroups exist on Linux only; elsewhere it returns an
// error wrapping errors.ErrUnsupported.
func CgroupsAvailable() (string, error) {
	return "", fmt.Errorf("cgroups on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}

// SweepCgroups removes nothing where there are no cgroups.
func SweepCgroups(parent string) int { return 0 }
