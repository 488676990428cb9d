//go:build unix

package health

import (
	"errors"
	"os"
	"os/exec"
	"syscall"

	"github.com/mezzo-cluster/mezzo/sandbox"
)

// ownGroup makes cmd the leader of a new process group, run as u (nil:
// the caller), and makes the end of its context kill that whole group,
// so that a check's children die with it.
func ownGroup(cmd *exec.Cmd, u *sandbox.User) error {
	cred, err := u.Credential()
	if err != nil {
		return err
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: cred}
	cmd.Cancel = func() error {
		if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil {
			if errors.Is(err, syscall.ESRCH) {
				return os.ErrProcessDone
			}
			return err
		}
		return nil
	}
	return nil
}

// killGroup kills what is left of the process group led by pid.
func killGroup(pid int) {
	_ = syscall.Kill(-pid, syscall.SIGKILL)
}
