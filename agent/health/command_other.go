//go:build !unix

package health

import (
	"errors"
	"os/exec"

	"github.com/mezzo-cluster/mezzo/sandbox"
)

// ownGroup makes no group without Unix process groups: the end of cmd's
// context kills only the process itself (exec's default). It refuses to
// run a check as another user, which needs Unix credentials.
func ownGroup(cmd *exec.Cmd, u *sandbox.User) error {
	if u != nil {
		return errors.New("running a check as another user is supported on Unix only")
	}
	return nil
}

// killGroup is a no-op without Unix process groups.
func killGroup(pid int) {}
