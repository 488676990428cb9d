package files

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// DefaultReadLimit is the most /files/read returns per request: Mesos's 16
// pages of 4 KiB.
const DefaultReadLimit = 64 << 10

// DefaultBrowseLimit is the most entries /files/browse lists for one
// directory unless BrowseLimit says otherwise. A task can make millions
// of files in its sandbox; listing them all cost 210 MB and a 30 MB
// answer at 200,000.
const DefaultBrowseLimit = 10000

// Handler serves /files/browse, /files/read and /files/download for the
// directory tree under Root. It is an http.Handler (mount it at "/files/").
//
// A Handler is safe for concurrent use by multiple goroutines. It holds no
// open files between requests, so the tree may change under it at any time.
type Handler struct {
	root        string // absolute and clean; its links are evaluated per request
	readLimit   int
	browseLimit int
	owners      owners
	topRoots    bool // see TopDirRoots
}

// BrowseLimit sets the most entries one /files/browse lists; n <= 0
// keeps DefaultBrowseLimit.
func BrowseLimit(n int) Option {
	return func(h *Handler) {
		if n > 0 {
			h.browseLimit = n
		}
	}
}

// TopDirRoots makes each directory directly under the root a root of its
// own: a path is resolved, and its links followed, within the directory
// its first element names, which must be a directory and not a link. Why:
// the agent's root holds one directory per framework, and a viewer
// allowed one framework's sandboxes must not be led by a link a task made
// into another framework's (the master authorizes a request by the
// framework its path names first).
func TopDirRoots() Option {
	return func(h *Handler) { h.topRoots = true }
}

// Option configures a Handler in NewHandler.
type Option func(*Handler)

// ReadLimit sets the most bytes one /files/read request returns; n <= 0
// keeps DefaultReadLimit.
func ReadLimit(n int) Option {
	return func(h *Handler) {
		if n > 0 {
			h.readLimit = n
		}
	}
}

// NewHandler returns a Handler confined to the directory root. The root may
// be relative (it is made absolute now, against the working directory) and
// need not exist yet: until it does, every path is not found. Symbolic
// links in root itself are trusted and evaluated on each request.
// NewHandler panics if root is empty, which is a programming error.
func NewHandler(root string, opts ...Option) *Handler {
	if root == "" {
		panic("files: NewHandler with empty root")
	}
	if abs, err := filepath.Abs(root); err == nil {
		root = abs
	}
	h := &Handler{root: filepath.Clean(root), readLimit: DefaultReadLimit, browseLimit: DefaultBrowseLimit}
	for _, o := range opts {
		o(h)
	}
	return h
}

// Root returns the root directory as NewHandler received it, made absolute.
func (h *Handler) Root() string { return h.root }

// Open resolves virtual as Resolve does and opens what it names for
// reading. On Linux it opens with openat2(RESOLVE_BENEATH) from the root,
// so the kernel refuses a link swapped in after the check that leads
// outside; kernels before 5.6 and other systems open by name and check
// afterwards where the opened file is. Errors are those of Resolve, plus
// ErrOutsideRoot for a path that changed to lead outside meanwhile. On
// Linux the file is opened non-blocking, so opening a FIFO does not wait
// for a writer. The caller must close the file.
func (h *Handler) Open(virtual string) (*os.File, error) {
	root, rel, err := h.resolve(virtual)
	if err != nil {
		return nil, err
	}
	f, err := openBeneath(root, rel)
	switch {
	case errors.Is(err, ErrOutsideRoot):
		return nil, pathErr(virtual, ErrOutsideRoot, "leads outside the root")
	case err != nil:
		return nil, osPathErr(virtual, err)
	}
	return f, nil
}

// ServeHTTP answers GET and HEAD requests for "browse", "read" and
// "download" (and their legacy ".json" spellings), taken from the last
// element of the request path, so the handler works both mounted at
// "/files/" and behind http.StripPrefix. Every endpoint requires the
// virtual path in the "path" query parameter (see Resolve) and, like
// Mesos, wraps JSON answers in a call to the "jsonp" parameter when one
// is given.
//
//   - browse answers a JSON array of Entry, one per directory entry sorted
//     by name; browsing a regular file answers that one file's Entry. An
//     entry whose path is not valid UTF-8 carries it in PathQuery too,
//     escaped, since its Path cannot hold its bytes.
//   - read answers a ReadResult for the window of a regular file starting
//     at "offset" and "length" bytes long. An absent offset or -1 asks for
//     the file's size only (Offset is the size, Data is empty); an absent
//     length or -1 reads to the end; an offset at or past the end answers
//     the size with no data. No answer holds more than the read limit
//     (DefaultReadLimit unless ReadLimit set it).
//   - download answers the file's bytes as application/octet-stream with a
//     "Content-Disposition: attachment" header naming it; Range requests
//     and conditional requests work as in http.ServeContent.
//
// Errors are plain-text sentences: 400 for a missing path, a malformed
// offset or length, a directory given to read or download, or a path that
// cannot name anything; 403 for a path refused by confinement; 404 for a
// path that does not exist; 405 for other methods.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	endpoint := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
	serve := h.endpoint(endpoint)
	if serve == nil {
		http.Error(w, fmt.Sprintf("No files endpoint is called %q.", endpoint), http.StatusNotFound)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, fmt.Sprintf("Method %s is not allowed; use GET or HEAD.", r.Method), http.StatusMethodNotAllowed)
		return
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		http.Error(w, "The query string is malformed: "+err.Error()+".", http.StatusBadRequest)
		return
	}
	if q.Get("path") == "" {
		http.Error(w, "Expecting 'path=value' in query.", http.StatusBadRequest)
		return
	}
	if cb := q.Get("jsonp"); cb != "" && !validCallback(cb) {
		http.Error(w, "The jsonp callback must be a JavaScript identifier or dotted name.", http.StatusBadRequest)
		return
	}
	serve(w, r, q)
}

// endpoint returns the function serving the named endpoint, or nil.
func (h *Handler) endpoint(name string) func(http.ResponseWriter, *http.Request, url.Values) {
	switch strings.TrimSuffix(name, ".json") {
	case "browse":
		return h.browse
	case "read":
		return h.read
	case "download":
		return h.download
	}
	return nil
}

// writeJSON writes v as JSON, or as "cb(json);" JavaScript when the query
// names a jsonp callback cb.
func writeJSON(w http.ResponseWriter, q url.Values, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "Could not encode the response: "+err.Error()+".", http.StatusInternalServerError)
		return
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if cb := q.Get("jsonp"); cb != "" {
		w.Header().Set("Content-Type", "text/javascript")
		body = []byte(cb + "(" + string(body) + ");")
	} else {
		w.Header().Set("Content-Type", "application/json")
	}
	w.Write(body)
}

// validCallback reports whether cb is a dotted JavaScript name such as
// "angular.callbacks._0", the only callbacks that cannot inject script.
func validCallback(cb string) bool {
	if len(cb) > 128 {
		return false
	}
	for _, part := range strings.Split(cb, ".") {
		if part == "" || (part[0] >= '0' && part[0] <= '9') {
			return false
		}
		for _, c := range part {
			ok := c == '_' || c == '$' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
			if !ok {
				return false
			}
		}
	}
	return true
}

// writeError answers a failed Resolve or Open with its status and a
// sentence naming the virtual path and the problem, never the real path.
func writeError(w http.ResponseWriter, err error) {
	var pe *PathError
	if !errors.As(err, &pe) {
		http.Error(w, "Could not open the path: "+err.Error()+".", http.StatusInternalServerError)
		return
	}
	code := http.StatusInternalServerError
	switch {
	case errors.Is(err, ErrOutsideRoot), errors.Is(err, fs.ErrPermission):
		code = http.StatusForbidden
	case errors.Is(err, ErrNotFound):
		code = http.StatusNotFound
	case errors.Is(err, ErrInvalidPath):
		code = http.StatusBadRequest
	}
	http.Error(w, fmt.Sprintf("Path %s %s.", quote(pe.Path), pe.Reason), code)
}

// quote quotes a virtual path for an error message, shortened so that a
// 4 KiB path does not come back 4 KiB long. A long path keeps its start
// and its end, where the name the message is about is: a sandbox's path
// alone is some 140 bytes, and cutting it at its start left a read of
// any file in it saying only "Path "/F/E/runs/R/tasks/T"... does not
// exist.", whichever file it was.
func quote(p string) string {
	const head, tail = 64, 192
	if len(p) > head+tail {
		return fmt.Sprintf("%q...%q", p[:head], p[len(p)-tail:])
	}
	return fmt.Sprintf("%q", p)
}
