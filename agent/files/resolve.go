package files

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Limits on virtual paths, taken from Linux's PATH_MAX and NAME_MAX.
const (
	// MaxPathLen is the longest virtual path Resolve accepts, in bytes.
	MaxPathLen = 4096
	// MaxNameLen is the longest single path element Resolve accepts.
	MaxNameLen = 255
	// maxLinks bounds symbolic-link expansions, as Linux's MAXSYMLINKS does.
	maxLinks = 40
)

// Resolve maps a virtual path to the real path it names under the root,
// following symbolic links, and refuses every path that leads outside.
//
// A virtual path is always read relative to the root: "/a/b", "a/b" and
// "a/./c/../b" all name <root>/a/b, and "/etc/passwd" names
// <root>/etc/passwd, never the host's file. ".." is applied to the path as
// written, before any link is followed, and may not climb above the root.
// Links are then followed one element at a time, as the kernel does, but
// a link whose target leaves the root is refused without touching the
// outside: relative targets are walked from the link's directory and
// absolute targets must name the root or something under it.
//
// The result has no symbolic links in it and lies under the root's real
// path (the root with its own links evaluated). Errors are *PathError
// values wrapping ErrOutsideRoot, ErrNotFound, ErrInvalidPath or, rarely,
// an error from the operating system such as a permission error. Resolve
// only checks; a caller that then opens the result races anyone who can
// rename within the root, so readers should use Open, which does not.
func (h *Handler) Resolve(virtual string) (string, error) {
	root, rel, err := h.resolve(virtual)
	if err != nil {
		return "", err
	}
	return filepath.Join(root, rel), nil
}

// resolve returns the root's real path and the resolved path relative to
// it ("." for the root itself).
func (h *Handler) resolve(virtual string) (root, rel string, err error) {
	segs, err := cleanVirtual(virtual)
	if err != nil {
		return "", "", err
	}
	root, err = filepath.EvalSymlinks(h.root)
	if err != nil {
		return "", "", osPathErr(virtual, err)
	}
	alias := h.root
	if h.topRoots && len(segs) > 0 {
		top := filepath.Join(root, segs[0])
		fi, err := os.Lstat(top)
		if err != nil {
			return "", "", osPathErr(virtual, err)
		}
		if !fi.IsDir() {
			return "", "", pathErr(virtual, ErrNotFound, "does not start with a directory")
		}
		root, alias, segs = top, filepath.Join(h.root, segs[0]), segs[1:]
	}
	w := walker{virtual: virtual, root: root, alias: alias}
	rel, err = w.walk(segs)
	if err != nil {
		return "", "", err
	}
	return root, rel, w.recheck(rel)
}

// cleanVirtual checks a virtual path and returns its elements with "." and
// ".." applied. The path is taken literally: the query parser has decoded
// it once, and nothing decodes it again, so "%2e" in it is three
// characters of a name, never a dot (RATIONALE.md, "Why are files paths
// decoded exactly once?").
func cleanVirtual(virtual string) ([]string, error) {
	switch {
	case virtual == "":
		return nil, pathErr(virtual, ErrInvalidPath, "is empty")
	case len(virtual) > MaxPathLen:
		return nil, pathErr(virtual, ErrInvalidPath, "is longer than 4096 bytes")
	case strings.IndexByte(virtual, 0) >= 0:
		return nil, pathErr(virtual, ErrOutsideRoot, "contains a NUL byte")
	case strings.IndexByte(virtual, '\\') >= 0:
		return nil, pathErr(virtual, ErrOutsideRoot, "contains a backslash")
	}
	var segs []string
	for _, s := range strings.Split(virtual, "/") {
		switch {
		case s == "" || s == ".":
		case s == "..":
			if len(segs) == 0 {
				return nil, pathErr(virtual, ErrOutsideRoot, "climbs above the root")
			}
			segs = segs[:len(segs)-1]
		case len(s) > MaxNameLen:
			return nil, pathErr(virtual, ErrInvalidPath, "has a name longer than 255 bytes")
		default:
			segs = append(segs, s)
		}
	}
	return segs, nil
}

// walker follows a cleaned virtual path down from root one element at a
// time. Every path it stats is root joined with elements it has already
// found to be real directories, so it never looks outside the root.
type walker struct {
	virtual string
	root    string // the root's real path
	alias   string // the root as configured, which absolute links may use
	links   int
}

func (w *walker) walk(pending []string) (string, error) {
	pending = append([]string(nil), pending...)
	var cur []string
	for len(pending) > 0 {
		seg := pending[0]
		pending = pending[1:]
		if seg == ".." {
			if len(cur) == 0 {
				return "", pathErr(w.virtual, ErrOutsideRoot, "has a symbolic link that leads outside the root")
			}
			cur = cur[:len(cur)-1]
			continue
		}
		p := filepath.Join(w.root, filepath.Join(cur...), seg)
		fi, err := os.Lstat(p)
		if err != nil {
			return "", osPathErr(w.virtual, err)
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			next, reset, err := w.follow(p)
			if err != nil {
				return "", err
			}
			if reset {
				cur = nil
			}
			pending = append(next, pending...)
			continue
		}
		if len(pending) > 0 && !fi.IsDir() {
			return "", pathErr(w.virtual, ErrNotFound, "goes through something that is not a directory")
		}
		cur = append(cur, seg)
	}
	return filepath.Join(append([]string{"."}, cur...)...), nil
}

// follow reads the link at p and returns the elements to walk in its
// place, and whether to walk them from the root (an absolute target)
// rather than from the link's directory.
func (w *walker) follow(p string) (next []string, reset bool, err error) {
	w.links++
	if w.links > maxLinks {
		return nil, false, pathErr(w.virtual, ErrInvalidPath, "runs through too many symbolic links")
	}
	target, err := os.Readlink(p)
	if err != nil {
		return nil, false, osPathErr(w.virtual, err)
	}
	if filepath.IsAbs(target) {
		rel, ok := under(w.root, target)
		if !ok {
			rel, ok = under(w.alias, target)
		}
		if !ok {
			return nil, false, pathErr(w.virtual, ErrOutsideRoot, "has a symbolic link that leads outside the root")
		}
		target, reset = rel, true
	}
	for _, s := range strings.Split(filepath.ToSlash(target), "/") {
		if s != "" && s != "." {
			next = append(next, s)
		}
	}
	return next, reset, nil
}

// recheck evaluates the walked path's links again and checks the real path
// is under the root, with a trailing separator so that "/root2" is not
// taken for a child of "/root". It catches a link swapped in during the walk.
func (w *walker) recheck(rel string) error {
	real, err := filepath.EvalSymlinks(filepath.Join(w.root, rel))
	if err != nil {
		return osPathErr(w.virtual, err)
	}
	if _, ok := under(w.root, real); !ok {
		return pathErr(w.virtual, ErrOutsideRoot, "leads outside the root")
	}
	return nil
}

// under reports whether the absolute path p is root or lies beneath it,
// comparing cleaned paths, and returns p relative to root.
func under(root, p string) (string, bool) {
	p = filepath.Clean(p)
	if p == root {
		return ".", true
	}
	prefix := root
	if !strings.HasSuffix(prefix, string(filepath.Separator)) {
		prefix += string(filepath.Separator)
	}
	if !strings.HasPrefix(p, prefix) {
		return "", false
	}
	return p[len(prefix):], true
}

// osPathErr classifies an error from the file system.
func osPathErr(virtual string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
		return pathErr(virtual, ErrNotFound, "does not exist")
	case errors.Is(err, syscall.ENAMETOOLONG):
		return pathErr(virtual, ErrInvalidPath, "is too long")
	case errors.Is(err, syscall.ELOOP):
		return pathErr(virtual, ErrInvalidPath, "runs through too many symbolic links")
	case errors.Is(err, fs.ErrPermission):
		return pathErr(virtual, err, "cannot be accessed: permission denied")
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		// Name the cause, not the real path, which the client must not see.
		return pathErr(virtual, err, "cannot be resolved: "+pe.Err.Error())
	}
	return pathErr(virtual, err, "cannot be resolved: "+err.Error())
}
