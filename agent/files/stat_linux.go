//go:build linux

package files

import (
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// statFile describes the open file f itself.
func statFile(f *os.File) (fileStat, error) {
	var st unix.Stat_t
	err := control(f, func(fd int) error { return unix.Fstat(fd, &st) })
	return fromUnix(&st), err
}

// lstatAt describes the entry name of the open directory dir without
// following it if it is a link. It goes through dir's descriptor, not a
// path, so a directory renamed meanwhile cannot redirect it.
func lstatAt(dir *os.File, name string) (fileStat, error) {
	var st unix.Stat_t
	err := control(dir, func(fd int) error {
		return unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW)
	})
	if err != nil {
		return fileStat{}, &os.PathError{Op: "fstatat", Path: name, Err: err}
	}
	return fromUnix(&st), nil
}

// control runs fn on f's descriptor; unlike f.Fd it leaves f's mode alone.
func control(f *os.File, fn func(fd int) error) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = fn(int(fd)) }); err != nil {
		return err
	}
	return ferr
}

func fromUnix(st *unix.Stat_t) fileStat {
	return fileStat{
		mode:  modeFromUnix(st.Mode),
		nlink: uint64(st.Nlink),
		size:  st.Size,
		mtime: st.Mtim.Sec,
		uid:   st.Uid,
		gid:   st.Gid,
		owned: true,
	}
}

// modeFromUnix converts st_mode to an fs.FileMode as package os does.
func modeFromUnix(m uint32) fs.FileMode {
	mode := fs.FileMode(m & 0o777)
	switch m & unix.S_IFMT {
	case unix.S_IFBLK:
		mode |= fs.ModeDevice
	case unix.S_IFCHR:
		mode |= fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFDIR:
		mode |= fs.ModeDir
	case unix.S_IFIFO:
		mode |= fs.ModeNamedPipe
	case unix.S_IFLNK:
		mode |= fs.ModeSymlink
	case unix.S_IFSOCK:
		mode |= fs.ModeSocket
	}
	if m&unix.S_ISUID != 0 {
		mode |= fs.ModeSetuid
	}
	if m&unix.S_ISGID != 0 {
		mode |= fs.ModeSetgid
	}
	if m&unix.S_ISVTX != 0 {
		mode |= fs.ModeSticky
	}
	return mode
}
