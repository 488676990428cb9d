package fetcher

import "errors"

// Causes that tests branch on; callers see them wrapped with the URI and,
// for archives, the entry.
var (
	// errUnsafe is wrapped by refusals of paths and links that would lead
	// outside the sandbox, and of device files.
	errUnsafe = errors.New("unsafe path")
	// errTooLarge is wrapped when a download exceeds MaxBytes or an
	// archive MaxExtract.
	errTooLarge = errors.New("too large")
	// errOverLimit is wrapped when a FetchAll call would write more into
	// its sandbox than its Limit allows.
	errOverLimit = errors.New("writes more into the sandbox than the fetch's limit")
	// errHash is wrapped when a module's bytes do not hash to its name.
	errHash = errors.New("hash mismatch")
	// errStalled is wrapped when a download is aborted for want of
	// bytes (Config.StallTimeout).
	errStalled = errors.New("download stalled")
)
