//go:build !linux

package files

import (
	"os"
	"path/filepath"
)

// openBeneath opens rel, a path Resolve produced, under the real root dir.
// Without openat2 it opens by name and then checks that the path still
// evaluates to somewhere under dir. That narrows, but does not close, the
// window in which a link swapped in after Resolve could be followed; the
// Linux build closes it.
func openBeneath(dir, rel string) (*os.File, error) {
	name := filepath.Join(dir, rel)
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	real, err := filepath.EvalSymlinks(name)
	if err == nil {
		if _, ok := under(dir, real); !ok {
			err = ErrOutsideRoot
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
