//go:build linux

package files

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// openBeneath opens rel, a path Resolve produced, under the real root dir.
//
// Why openat2: Resolve checks the path and then returns; a task that can
// rename inside its sandbox could swap a directory on that path for a link
// to "/" between the check and the open. openat2 with RESOLVE_BENEATH makes
// the kernel refuse, during the open itself, any resolution that leaves
// dir. Kernels before 5.6, and seccomp filters that hide the call, get
// openFallback instead.
//
// The file is opened O_NONBLOCK so that opening a FIFO does not wait for a
// writer; reads of regular files and directories are unaffected.
func openBeneath(dir, rel string) (*os.File, error) {
	dirfd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	defer unix.Close(dirfd)
	how := unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NONBLOCK | unix.O_NOCTTY,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS,
	}
	for tries := 0; ; tries++ {
		fd, err := unix.Openat2(dirfd, rel, &how)
		switch {
		case err == nil:
			return os.NewFile(uintptr(fd), filepath.Join(dir, rel)), nil
		case err == unix.EXDEV:
			return nil, ErrOutsideRoot
		case err == unix.EINTR, err == unix.EAGAIN && tries < 8:
			// EAGAIN: the kernel saw a concurrent rename and asks for a retry.
			continue
		case err == unix.ENOSYS, err == unix.EPERM:
			return openFallback(dir, rel)
		default:
			return nil, &os.PathError{Op: "openat2", Path: filepath.Join(dir, rel), Err: err}
		}
	}
}

// openFallback opens dir/rel without following a final link and then
// checks, through /proc/self/fd, that what it opened is under dir. A link
// swapped into an intermediate directory can still be followed, but the
// file it reaches is closed unread.
func openFallback(dir, rel string) (*os.File, error) {
	name := filepath.Join(dir, rel)
	flags := os.O_RDONLY | unix.O_NOFOLLOW | unix.O_NONBLOCK | unix.O_NOCTTY
	f, err := os.OpenFile(name, flags, 0)
	if err != nil {
		return nil, err
	}
	real, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(int(f.Fd())))
	if err != nil {
		real, err = filepath.EvalSymlinks(name)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("check opened path: %w", err)
	}
	if _, ok := under(dir, real); !ok {
		f.Close()
		return nil, ErrOutsideRoot
	}
	return f, nil
}
