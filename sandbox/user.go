package sandbox

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
)

// User is who a native task runs as: the user's name, its uid, its
// primary gid and its supplementary groups, as the system's user database
// (/etc/passwd and /etc/group, or NSS in a cgo build) lists them. Build
// one with LookupUser.
type User struct {
	Name   string
	UID    uint32
	GID    uint32
	Groups []uint32
}

// LookupUser finds name in the system's user database. A name that is not
// there is an error that says so, since a task must never fall back to
// running as the caller (typically root).
func LookupUser(name string) (*User, error) {
	if name == "" {
		return nil, errors.New("look up user: the user name is empty")
	}
	u, err := user.Lookup(name)
	if err != nil {
		var unknown user.UnknownUserError
		if errors.As(err, &unknown) {
			return nil, fmt.Errorf("user %q does not exist on this host", name)
		}
		return nil, fmt.Errorf("look up user %q: %w", name, err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("look up user %q: uid %q or gid %q is not numeric: %w", name, u.Uid, u.Gid, err)
	}
	out := &User{Name: name, UID: uint32(uid), GID: uint32(gid)}
	ids, err := u.GroupIds()
	if err != nil {
		return nil, fmt.Errorf("look up the groups of user %q: %w", name, err)
	}
	for _, id := range ids {
		g, err := strconv.ParseUint(id, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("look up the groups of user %q: gid %q is not numeric", name, id)
		}
		if uint32(g) != out.GID {
			out.Groups = append(out.Groups, uint32(g))
		}
	}
	return out, nil
}

// needsSwitch reports whether running as u takes a change of user: the
// caller is someone else, or is root (which must shed its own groups even
// to run as root's uid). A caller that is not root can run only as
// itself; for anyone else the answer is an error.
func (u *User) needsSwitch() (bool, error) {
	euid := os.Geteuid()
	switch {
	case u == nil:
		return false, nil
	case euid == 0:
		return true, nil
	case uint32(euid) == u.UID:
		return false, nil
	}
	return false, fmt.Errorf("cannot run as user %q (uid %d): this process runs as uid %d, and only root can switch users", u.Name, u.UID, euid)
}

// Chown gives u the sandbox dir and everything under it (the task's
// stdout and stderr, the files fetched for it), so that a task running as
// u can write there, except the names in keep (relative to dir), which
// stay whose they are. Symbolic links are changed themselves, never what
// they point to. A nil u, or a caller that needs no switch to run as u,
// changes nothing.
func (u *User) Chown(dir string, keep ...string) error {
	switch ok, err := u.needsSwitch(); {
	case err != nil:
		return err
	case !ok:
		return nil
	}
	skip := map[string]bool{}
	for _, k := range keep {
		skip[filepath.Join(dir, k)] = true
	}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if skip[path] {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		return os.Lchown(path, int(u.UID), int(u.GID))
	})
	if err != nil {
		return fmt.Errorf("give sandbox %s to user %q: %w", dir, u.Name, err)
	}
	return nil
}

// CheckReach reports, as an error that names the directory in the way,
// whether u can reach dir: search (x) permission on every directory
// above it. A task whose sandbox its user cannot reach would otherwise
// fail with a bare "permission denied" from chdir. A nil u, or a caller
// that needs no switch to run as u, can reach what the caller can.
func (u *User) CheckReach(dir string) error {
	if ok, err := u.needsSwitch(); err != nil || !ok || u.UID == 0 {
		return err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("check that user %q can reach %s: %w", u.Name, dir, err)
	}
	for d := filepath.Dir(abs); ; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err != nil {
			return fmt.Errorf("check that user %q can reach %s: %w", u.Name, dir, err)
		}
		if !u.canSearch(st) {
			return fmt.Errorf("user %q cannot reach its sandbox %s: directory %s (mode %04o) is not searchable by it; make it searchable (chmod o+x) or put the agent's work directory under one that is",
				u.Name, dir, d, st.Mode().Perm())
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}
