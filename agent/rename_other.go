//go:build !linux

package agent

import "errors"

// renameNoReplace fails: renameat2's RENAME_NOREPLACE is Linux's, so
// spare sandboxes are never moved into place and launches make their
// own.
func renameNoReplace(string, int, string) error { return errors.ErrUnsupported }
