package files

import (
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/mezzo-cluster/mezzo/api"
)

// Entry is one element of a /files/browse answer, in Mesos's JSON shape.
type Entry struct {
	// Path is the entry's virtual path: the browsed path, cleaned and
	// rooted at "/", joined with the entry's name. JSON strings hold
	// only UTF-8, so a path that is not valid UTF-8 (a name a task made
	// from arbitrary bytes) has U+FFFD in place of each invalid byte
	// here, and names no file: use PathQuery for such a path.
	Path string `json:"path"`
	// PathQuery is set, for a path that is not valid UTF-8 only, to the
	// path's exact bytes escaped as a query value (url.QueryEscape):
	// "path=" followed by PathQuery names the entry in a request to any
	// endpoint, since the query parser decodes it once and nothing
	// decodes it again. Mesos has no such field (its listings give such
	// a path as invalid JSON), and valid paths leave it out, so the
	// answer keeps Mesos's shape.
	PathQuery string `json:"path_query,omitempty"`
	// Nlink is the number of hard links.
	Nlink uint64 `json:"nlink"`
	// Size is the size in bytes.
	Size int64 `json:"size"`
	// Mtime is the modification time in seconds since the Unix epoch.
	Mtime int64 `json:"mtime"`
	// Mode is the type and permissions as "ls -l" prints them.
	Mode string `json:"mode"`
	// UID is the owner's user name, or the user id in decimal; it is
	// empty off Linux, where the handler does not read owners.
	UID string `json:"uid"`
	// GID is the group's name, or the group id in decimal (empty off Linux).
	GID string `json:"gid"`
}

// browse lists a directory, sorted by name. Browsing a file lists that one
// file. A link inside the listing is described by its target when the
// target lies under the root, as Mesos's stat() would, and as a link
// ("lrwxrwxrwx") otherwise, so nothing outside the root is ever described.
func (h *Handler) browse(w http.ResponseWriter, _ *http.Request, q url.Values) {
	virtual := q.Get("path")
	f, st, ok := h.openStat(w, virtual)
	if !ok {
		return
	}
	defer f.Close()
	dir := displayPath(virtual)
	if !st.mode.IsDir() {
		writeJSON(w, q, []Entry{h.entry(dir, st)})
		return
	}
	// Read in batches, and no more than the limit and one: a directory
	// with more lists the first entries the directory yields, sorted,
	// and says so in a header.
	var names []string
	for len(names) <= h.browseLimit {
		batch, err := f.Readdirnames(min(1024, h.browseLimit+1-len(names)))
		names = append(names, batch...)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			internalError(w, "list", virtual, err)
			return
		}
	}
	if len(names) > h.browseLimit {
		names = names[:h.browseLimit]
		w.Header().Set(api.ListingTruncatedHeader, "true")
	}
	sort.Strings(names)
	entries := make([]Entry, 0, len(names))
	for _, name := range names {
		st, err := lstatAt(f, name)
		if err != nil {
			continue // removed since it was listed
		}
		p := path.Join(dir, name)
		if st.mode&fs.ModeSymlink != 0 {
			st = h.statTarget(p, st)
		}
		entries = append(entries, h.entry(p, st))
	}
	writeJSON(w, q, entries)
}

// statTarget describes what the link at virtual path p leads to, or
// returns link itself when that is outside the root or missing.
func (h *Handler) statTarget(p string, link fileStat) fileStat {
	f, err := h.Open(p)
	if err != nil {
		return link
	}
	defer f.Close()
	st, err := statFile(f)
	if err != nil {
		return link
	}
	return st
}

func (h *Handler) entry(p string, st fileStat) Entry {
	e := Entry{Path: p, Nlink: st.nlink, Size: st.size, Mtime: st.mtime, Mode: lsMode(st.mode)}
	if !utf8.ValidString(p) {
		e.PathQuery = url.QueryEscape(p)
	}
	if st.owned {
		e.UID, e.GID = h.owners.user(st.uid), h.owners.group(st.gid)
	}
	return e
}

// displayPath returns a virtual path that Resolve accepted, cleaned and
// rooted at "/".
func displayPath(virtual string) string {
	segs, _ := cleanVirtual(virtual)
	return "/" + strings.Join(segs, "/")
}
