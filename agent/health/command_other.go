//go:build !unix

package health

import "os/exec"

// ownGroup is a no-op without Unix process groups: the end of cmd's
// context kills only the process itself (exec's default).
func ownGroup(cmd *exec.Cmd) {}

// killGroup is a no-op without Unix process groups.
func killGroup(pid int) {}
