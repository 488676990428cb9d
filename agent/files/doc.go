// Package files serves the Mesos files API, /files/browse, /files/read and
// /files/download, for a directory tree that requests may not leave.
//
// An agent mounts one Handler over the directory that holds its sandboxes:
//
//	h := files.NewHandler(sandboxRoot)
//	mux.Handle("/files/", h)
//
// Request paths are virtual and rooted at that directory, so
//
//	GET /files/browse?path=/frameworks/F/executors/E/runs/latest
//	GET /files/read?path=/frameworks/F/executors/E/runs/latest/stdout&offset=0&length=4096
//	GET /files/download?path=/frameworks/F/executors/E/runs/latest/stderr
//
// list the latest run's sandbox, read the first 4 KiB of its stdout, and
// download its stderr. The answers have Mesos's JSON shapes (Entry and
// ReadResult) and its offset and length rules; reads return at most
// DefaultReadLimit bytes unless ReadLimit says otherwise.
//
// The "path" parameter is decoded once, by the query parser, and then
// taken literally: path=a%252eb names the file "a%2eb", whose "%2e" is
// part of its name and never a dot. A listed path that is not valid
// UTF-8, which JSON cannot carry, comes escaped in Entry.PathQuery too,
// ready to follow "path=".
//
// Confinement: a path that climbs above the root with "..", that goes
// through a symbolic link leading outside (as its last element or any
// directory on the way), or that holds a NUL byte or a backslash is
// refused with 403 and nothing outside is read, listed or even stat'ed. Links that stay inside
// the root, such as runs/latest pointing at runs/<id>, work. Handler.Resolve
// does the check and Handler.Open opens the result; on Linux it opens with
// openat2(RESOLVE_BENEATH), so a link swapped in after the check is refused
// by the kernel too. The agent uses both for its own sandbox access.
//
// A Handler is safe for concurrent use by multiple goroutines.
package files
