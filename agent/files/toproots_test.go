package files

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestTopDirRoots checks that with TopDirRoots a link leads nowhere out
// of the top directory it is in: a task's link in one framework's
// sandbox into another's is refused, relative or absolute, while the
// same links resolve without the option, and links within the top
// directory still do.
func TestTopDirRoots(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"a/x", "b"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, data := range map[string]string{"b/secret": "B", "a/x/mine": "A"} {
		if err := os.WriteFile(filepath.Join(root, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{
		"a/leak":    "../b/secret",
		"a/abs":     filepath.Join(root, "b", "secret"),
		"a/dirleak": "../b",
		"a/ok":      "x/mine",
		"a/absok":   filepath.Join(root, "a", "x", "mine"),
		"c":         "b",
	} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		path        string
		plain, tops error // nil: resolves
	}{
		{"a/leak", nil, ErrOutsideRoot},
		{"a/abs", nil, ErrOutsideRoot},
		{"a/dirleak/secret", nil, ErrOutsideRoot},
		{"c/secret", nil, ErrNotFound},
		{"a/ok", nil, nil},
		{"a/absok", nil, nil},
		{"b/secret", nil, nil},
		{"/", nil, nil},
	}
	for _, opts := range [][]Option{nil, {TopDirRoots()}} {
		h := NewHandler(root, opts...)
		for _, tt := range tests {
			want := tt.plain
			if opts != nil {
				want = tt.tops
			}
			_, err := h.Resolve(tt.path)
			if (want == nil) != (err == nil) || want != nil && !errors.Is(err, want) {
				t.Errorf("TopDirRoots %v: Resolve(%q) = %v, want %v", opts != nil, tt.path, err, want)
			}
			if f, err := h.Open(tt.path); err == nil {
				f.Close()
				if want != nil {
					t.Errorf("TopDirRoots %v: Open(%q) succeeded, want %v", opts != nil, tt.path, want)
				}
			}
		}
	}
}
