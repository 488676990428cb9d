package agent

import "golang.org/x/sys/unix"

// renameNoReplace moves oldpath to name in the directory open as
// newdirfd, following no link in name, and fails with an error matching
// os.ErrExist rather than replace what is there (renameat2's
// RENAME_NOREPLACE).
func renameNoReplace(oldpath string, newdirfd int, name string) error {
	return unix.Renameat2(unix.AT_FDCWD, oldpath, newdirfd, name, unix.RENAME_NOREPLACE)
}
