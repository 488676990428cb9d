package files

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	fx := newFixture(t, t.TempDir())
	h := NewHandler(fx.root)
	r1 := filepath.Join(fx.root, run, "R1")
	fx.write(t, filepath.Join(fx.root, "frameworks/F/a%2eb"), []byte("literal"), 0o644)
	tests := []struct {
		name, virtual string
		want          string // the real path, when err is nil
		err           error
	}{
		{"root", "/", fx.root, nil},
		{"root without a slash", ".", fx.root, nil},
		{"relative", run + "/R1/stdout", r1 + "/stdout", nil},
		{"rooted", "/" + run + "/R1/stdout", r1 + "/stdout", nil},
		{"doubled slashes", "//frameworks///F//executors/E/runs/R1/stdout/", r1 + "/stdout", nil},
		{"relative link", run + "/latest", r1, nil},
		{"relative link as a directory", run + "/latest/sub", r1 + "/sub", nil},
		{"absolute link inside", run + "/abs/stdout", r1 + "/stdout", nil},
		{"link to the root", "self/self/self", fx.root, nil},
		{"dot-dot inside", run + "/R1/sub/../stdout", r1 + "/stdout", nil},
		{"host path is root-relative", "/etc/passwd", "", ErrNotFound},
		{"missing", "nope", "", ErrNotFound},
		{"dangling inside", "dangling", "", ErrNotFound},
		{"file as directory", run + "/R1/stdout/x", "", ErrNotFound},
		{"empty", "", "", ErrInvalidPath},
		{"loop", "loop", "", ErrInvalidPath},
		{"too long", strings.Repeat("/", MaxPathLen+1), "", ErrInvalidPath},
		{"long name", strings.Repeat("n", MaxNameLen+1), "", ErrInvalidPath},
		{"longest name is fine", strings.Repeat("n", MaxNameLen), "", ErrNotFound},
		{"dot-dot", "..", "", ErrOutsideRoot},
		{"dot-dot later", "a/b/../../..", "", ErrOutsideRoot},
		{"NUL", "a\x00", "", ErrOutsideRoot},
		{"backslash", `..\..`, "", ErrOutsideRoot},
		{"an encoded dot is part of a name", "%2e%2e", "", ErrNotFound},
		{"an encoded percent is part of a name", "%252e", "", ErrNotFound},
		{"an encoded slash is part of a name", "frameworks%2f..%2f..%2foutside", "", ErrNotFound},
		{"a literal percent name", "frameworks/F/a%2eb", filepath.Join(fx.root, "frameworks/F/a%2eb"), nil},
		{"other escapes are names", "a%20b", "", ErrNotFound},
		{"bad escapes are names", "%zz%", "", ErrNotFound},
		{"link out", "evil-file", "", ErrOutsideRoot},
		{"link out intermediate", "evil-dir/secret", "", ErrOutsideRoot},
		{"link out relative", "evil-rel", "", ErrOutsideRoot},
		{"link out dangling", "evil-dangling", "", ErrOutsideRoot},
		{"link out after dot-dot", "evil-dotdot", "", ErrOutsideRoot},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := h.Resolve(tt.virtual)
			if tt.err != nil {
				var pe *PathError
				if !errors.Is(err, tt.err) || !errors.As(err, &pe) || pe.Path != tt.virtual {
					t.Fatalf("Resolve(%q) = %q, %v; want a *PathError wrapping %v", tt.virtual, got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Resolve(%q) = %q, %v; want %q", tt.virtual, got, err, tt.want)
			}
		})
	}
}

func TestResolveRootAlias(t *testing.T) {
	// The agent may configure its root through a link and write absolute
	// links using that spelling; they must still count as inside.
	dir := t.TempDir()
	fx := newFixture(t, dir)
	alias := filepath.Join(dir, "alias")
	must(t, os.Symlink(fx.root, alias))
	must(t, os.Symlink(filepath.Join(alias, run, "R1"), filepath.Join(fx.root, "via-alias")))
	h := NewHandler(alias)
	got, err := h.Resolve("via-alias/stdout")
	if want := filepath.Join(fx.root, run, "R1", "stdout"); err != nil || got != want {
		t.Errorf("Resolve through the alias = %q, %v; want %q", got, err, want)
	}
	if _, err := h.Resolve("evil-dir/secret"); !errors.Is(err, ErrOutsideRoot) {
		t.Errorf("outside link through an aliased root: %v", err)
	}
}

func TestResolveMissingRoot(t *testing.T) {
	h := NewHandler(filepath.Join(t.TempDir(), "not-yet"))
	if _, err := h.Resolve("/"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Resolve under a missing root: %v, want ErrNotFound", err)
	}
}

func TestNewHandlerPanicsOnEmptyRoot(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("NewHandler(\"\") did not panic")
		}
	}()
	NewHandler("")
}

func TestOpen(t *testing.T) {
	fx := newFixture(t, t.TempDir())
	h := NewHandler(fx.root)
	f, err := h.Open(run + "/latest/stdout")
	must(t, err)
	defer f.Close()
	b := make([]byte, 5)
	if _, err := f.Read(b); err != nil || string(b) != "hello" {
		t.Errorf("Read = %q, %v", b, err)
	}
	if _, err := h.Open("evil-dir/secret"); !errors.Is(err, ErrOutsideRoot) {
		t.Errorf("Open through an outside link: %v", err)
	}
}

// TestOpenBeneathRefusesLinksSwappedIn gives openBeneath paths as if a
// link had been swapped in after Resolve checked them.
func TestOpenBeneathRefusesLinksSwappedIn(t *testing.T) {
	fx := newFixture(t, t.TempDir())
	for _, rel := range []string{"evil-dir/secret", "evil-file", "evil-rel", "evil-dotdot/secret", "../outside/secret"} {
		f, err := openBeneath(fx.root, rel)
		if err == nil {
			f.Close()
			t.Errorf("openBeneath(%q) opened %s", rel, f.Name())
			continue
		}
		if !errors.Is(err, ErrOutsideRoot) && !errors.Is(err, fs.ErrNotExist) {
			t.Logf("openBeneath(%q): %v", rel, err)
		}
	}
	f, err := openBeneath(fx.root, run+"/latest/stdout")
	if err != nil {
		t.Fatalf("openBeneath through an inside link: %v", err)
	}
	f.Close()
}
