package files

import (
	"errors"
	"fmt"
)

// Errors that Resolve and Open wrap in a *PathError. The handler answers
// ErrOutsideRoot with 403, ErrNotFound with 404 and ErrInvalidPath with 400.
var (
	// ErrOutsideRoot is returned for a path that leads outside the root,
	// through ".." or a symbolic link, and for a path refused because it is
	// shaped like an escape: one holding a NUL byte, a backslash or a
	// percent-encoded dot, slash, backslash, NUL or percent sign.
	ErrOutsideRoot = errors.New("files: path is outside the root")

	// ErrNotFound is returned when the path, or a directory on the way to
	// it, does not exist under the root.
	ErrNotFound = errors.New("files: no such file or directory")

	// ErrInvalidPath is returned for a path that cannot name anything: an
	// empty one, one over MaxPathLen bytes or with a name over MaxNameLen
	// bytes, or one that runs through too many symbolic links.
	ErrInvalidPath = errors.New("files: invalid path")
)

// PathError records why a virtual path was refused or could not be
// resolved. Err is one of ErrOutsideRoot, ErrNotFound and ErrInvalidPath,
// or an error from the operating system (a permission error, say).
type PathError struct {
	// Path is the virtual path as the caller gave it.
	Path string
	// Reason is a lower-case phrase that completes "path P ...", such as
	// "climbs above the root".
	Reason string
	// Err is the underlying error; errors.Is looks through to it.
	Err error
}

// Error returns "resolve <path>: <reason>".
func (e *PathError) Error() string {
	return fmt.Sprintf("resolve %q: %s", e.Path, e.Reason)
}

// Unwrap returns e.Err.
func (e *PathError) Unwrap() error { return e.Err }

func pathErr(virtual string, err error, reason string) *PathError {
	return &PathError{Path: virtual, Reason: reason, Err: err}
}
