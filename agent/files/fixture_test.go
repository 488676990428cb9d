package files

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// run is the sandbox directory of the fixture, relative to its root.
const run = "frameworks/F/executors/E/runs"

// secret is the content of the file outside the root that no request may
// read. Its size, 7919 bytes, is one no directory or link in the fixture
// has, so a listing that shows it has described the outside file.
var secret = "TOP SECRET outside the root" + strings.Repeat(".", 7919-27)

// fixture is a root directory laid out as an agent lays out sandboxes,
// beside an outside directory that links in the root try to reach.
type fixture struct {
	root    string // the root, with its links evaluated
	outside string // a directory beside the root holding "secret"
	big     []byte // the content of runs/R1/big
	mtime   time.Time
}

// newFixture builds under dir:
//
//	root/frameworks/F/executors/E/runs/R1/{stdout,big,empty,sub/}
//	root/frameworks/F/executors/E/runs/latest -> R1
//	root/frameworks/F/executors/E/runs/abs -> <root>/.../runs/R1
//	root/self -> .
//	root/evil-file -> <outside>/secret
//	root/evil-dir -> <outside>
//	root/evil-rel -> ../outside/secret
//	root/evil-dotdot -> frameworks/../../outside
//	root/evil-dangling -> /nonexistent-mezzo-test/x
//	root/dangling -> missing
//	root/loop -> loop
//	outside/secret
func newFixture(tb testing.TB, dir string) *fixture {
	tb.Helper()
	dir, err := filepath.EvalSymlinks(dir)
	must(tb, err)
	fx := &fixture{
		root:    filepath.Join(dir, "root"),
		outside: filepath.Join(dir, "outside"),
		big:     bytes.Repeat([]byte("0123456789abcdef"), 100<<10/16),
		mtime:   time.Unix(1700000000, 0),
	}
	r1 := filepath.Join(fx.root, run, "R1")
	must(tb, os.MkdirAll(filepath.Join(r1, "sub"), 0o755))
	must(tb, os.MkdirAll(fx.outside, 0o755))
	fx.write(tb, filepath.Join(fx.outside, "secret"), []byte(secret), 0o644)
	fx.write(tb, filepath.Join(r1, "stdout"), []byte("hello world\n"), 0o644)
	fx.write(tb, filepath.Join(r1, "big"), fx.big, 0o600)
	fx.write(tb, filepath.Join(r1, "empty"), nil, 0o644)
	must(tb, os.Chmod(filepath.Join(r1, "sub"), 0o750))
	must(tb, os.Chtimes(filepath.Join(r1, "sub"), fx.mtime, fx.mtime))
	links := map[string]string{
		filepath.Join(run, "latest"): "R1",
		filepath.Join(run, "abs"):    r1,
		"self":                       ".",
		"evil-file":                  filepath.Join(fx.outside, "secret"),
		"evil-dir":                   fx.outside,
		"evil-rel":                   "../outside/secret",
		"evil-dotdot":                "frameworks/../../outside",
		"evil-dangling":              "/nonexistent-mezzo-test/x",
		"dangling":                   "missing",
		"loop":                       "loop",
	}
	for name, target := range links {
		must(tb, os.Symlink(target, filepath.Join(fx.root, name)))
	}
	return fx
}

func (fx *fixture) write(tb testing.TB, name string, data []byte, mode os.FileMode) {
	tb.Helper()
	must(tb, os.WriteFile(name, data, mode))
	must(tb, os.Chmod(name, mode))
	must(tb, os.Chtimes(name, fx.mtime, fx.mtime))
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}
