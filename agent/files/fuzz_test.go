package files

import (
	"errors"
	"io/fs"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzResolve feeds arbitrary virtual paths to Resolve and Open over the
// fixture tree. Neither may panic, a success must lie under the root, and
// a failure must be a *PathError of a known kind. The seed corpus is in
// testdata/fuzz/FuzzResolve.
func FuzzResolve(f *testing.F) {
	for _, s := range []string{"", "/", run + "/latest/stdout", "evil-dir/secret", "../x", "%2e%2e", "a%2eb/%2f..%2f"} {
		f.Add(s)
	}
	fx := newFixture(f, f.TempDir())
	h := NewHandler(fx.root)
	f.Fuzz(func(t *testing.T, virtual string) {
		got, err := h.Resolve(virtual)
		if err != nil {
			checkPathError(t, virtual, err)
		} else {
			checkUnder(t, fx, virtual, got)
		}
		file, err := h.Open(virtual)
		if err != nil {
			checkPathError(t, virtual, err)
			return
		}
		defer file.Close()
		checkUnder(t, fx, virtual, file.Name())
	})
}

func checkUnder(t *testing.T, fx *fixture, virtual, got string) {
	t.Helper()
	rel, err := filepath.Rel(fx.root, got)
	if err != nil || filepath.IsAbs(rel) || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		t.Fatalf("Resolve(%q) = %q, outside the root %q", virtual, got, fx.root)
	}
	if strings.HasPrefix(got, fx.outside) {
		t.Fatalf("Resolve(%q) = %q, in the outside directory", virtual, got)
	}
}

func checkPathError(t *testing.T, virtual string, err error) {
	t.Helper()
	var pe *PathError
	if !errors.As(err, &pe) || pe.Path != virtual || pe.Reason == "" {
		t.Fatalf("Resolve(%q) error %#v is not a *PathError for it", virtual, err)
	}
	for _, kind := range []error{ErrOutsideRoot, ErrNotFound, ErrInvalidPath, fs.ErrPermission} {
		if errors.Is(err, kind) {
			return
		}
	}
	t.Fatalf("Resolve(%q) error %v is of no known kind", virtual, err)
}

// FuzzServe sends arbitrary query strings to every endpoint. The handler
// may not panic, must answer with one of the statuses it documents, and
// must never return the outside file.
func FuzzServe(f *testing.F) {
	f.Add("read", "path="+run+"/latest/stdout&offset=0&length=5")
	f.Add("browse", "path=/")
	f.Add("download", "path=evil-dir/secret")
	f.Add("read", "path=%2e%2e/outside/secret&offset=-2&length=x")
	f.Add("read.json", "path=self/evil-file&jsonp=a.b")
	f.Add("read", "path=a%252eb&offset=0")
	f.Add("download", "path=frameworks%252f..%252f..%252foutside%252fsecret")
	fx := newFixture(f, f.TempDir())
	h := NewHandler(fx.root)
	f.Fuzz(func(t *testing.T, endpoint, rawQuery string) {
		req := httptest.NewRequest("GET", "/files/", nil)
		req.URL.Path += endpoint
		req.URL.RawQuery = rawQuery
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		switch w.Code {
		case 200, 206, 400, 403, 404:
		default:
			t.Fatalf("%s?%s answered %d %q", endpoint, rawQuery, w.Code, w.Body)
		}
		if strings.Contains(w.Body.String(), secret) {
			t.Fatalf("%s?%s returned the outside file", endpoint, rawQuery)
		}
	})
}
