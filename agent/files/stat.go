package files

import (
	"io/fs"
	"os/user"
	"strconv"
	"sync"
)

// fileStat is what browse reports about one file.
type fileStat struct {
	mode  fs.FileMode
	nlink uint64
	size  int64
	mtime int64 // seconds since the Unix epoch
	uid   uint32
	gid   uint32
	owned bool // uid and gid are known
}

// lsMode formats m the way "ls -l" does: "drwxr-xr-x", "-rwsr-x---",
// "lrwxrwxrwx", "drwxrwxrwt".
func lsMode(m fs.FileMode) string {
	b := []byte("?rwxrwxrwx")
	switch {
	case m.IsDir():
		b[0] = 'd'
	case m&fs.ModeSymlink != 0:
		b[0] = 'l'
	case m&fs.ModeNamedPipe != 0:
		b[0] = 'p'
	case m&fs.ModeSocket != 0:
		b[0] = 's'
	case m&fs.ModeCharDevice != 0:
		b[0] = 'c'
	case m&fs.ModeDevice != 0:
		b[0] = 'b'
	case m.IsRegular():
		b[0] = '-'
	}
	for i := 0; i < 9; i++ {
		if m&(1<<uint(8-i)) == 0 {
			b[i+1] = '-'
		}
	}
	special(b, 3, m&fs.ModeSetuid != 0, 's')
	special(b, 6, m&fs.ModeSetgid != 0, 's')
	special(b, 9, m&fs.ModeSticky != 0, 't')
	return string(b)
}

// special marks the set-id or sticky bit in execute position i: lower case
// when the execute bit is also set, upper case when it is not.
func special(b []byte, i int, set bool, c byte) {
	if !set {
		return
	}
	if b[i] == '-' {
		c -= 'a' - 'A'
	}
	b[i] = c
}

// owners caches user and group names by id; the lookups read /etc/passwd
// and /etc/group (or ask NSS), which is too slow to do per file.
type owners struct {
	mu     sync.Mutex
	users  map[uint32]string // mu must be held
	groups map[uint32]string // mu must be held
}

// user returns the name of uid, or uid in decimal when it has none.
func (o *owners) user(uid uint32) string {
	return o.lookup(&o.users, uid, func(id string) (string, error) {
		u, err := user.LookupId(id)
		if err != nil {
			return "", err
		}
		return u.Username, nil
	})
}

// group returns the name of gid, or gid in decimal when it has none.
func (o *owners) group(gid uint32) string {
	return o.lookup(&o.groups, gid, func(id string) (string, error) {
		g, err := user.LookupGroupId(id)
		if err != nil {
			return "", err
		}
		return g.Name, nil
	})
}

func (o *owners) lookup(cache *map[uint32]string, id uint32, find func(string) (string, error)) string {
	o.mu.Lock()
	name, ok := (*cache)[id]
	o.mu.Unlock()
	if ok {
		return name
	}
	s := strconv.FormatUint(uint64(id), 10)
	name, err := find(s)
	if err != nil || name == "" {
		name = s
	}
	o.mu.Lock()
	if *cache == nil {
		*cache = make(map[uint32]string)
	}
	(*cache)[id] = name
	o.mu.Unlock()
	return name
}
