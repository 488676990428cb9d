//go:build unix

package sandbox

import (
	"os"
	"slices"
	"syscall"
)

// Credential returns what exec needs to start a process as u: nil when
// the caller is u already and not root, an error when the caller cannot
// become u (only root can switch users).
func (u *User) Credential() (*syscall.Credential, error) {
	ok, err := u.needsSwitch()
	if err != nil || !ok {
		return nil, err
	}
	return &syscall.Credential{Uid: u.UID, Gid: u.GID, Groups: append([]uint32{}, u.Groups...)}, nil
}

// canSearch reports whether u may search (traverse) the directory st
// describes, by its owner, group and other bits.
func (u *User) canSearch(st os.FileInfo) bool {
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return true
	}
	perm := st.Mode().Perm()
	switch {
	case sys.Uid == u.UID:
		return perm&0o100 != 0
	case sys.Gid == u.GID || slices.Contains(u.Groups, sys.Gid):
		return perm&0o010 != 0
	}
	return perm&0o001 != 0
}
