package files

import (
	"encoding/json"
	"errors"
	"io/fs"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
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

// FuzzListedPaths makes a file of an arbitrary name, lists its directory
// and follows the listed entry as a client does: "path=" and the
// entry's PathQuery when it has one, else its Path escaped. The read
// must answer that file, so every name a listing shows can be read: a
// name not valid UTF-8 through its PathQuery, a name holding "%2e"
// through the one decoding the query parser does. Names the resolver
// refuses whatever their listing (a backslash) are skipped.
func FuzzListedPaths(f *testing.F) {
	for _, s := range []string{"plain", "a%2eb", "%2e%2e", "a%2fb", "%25", "100%", "my file", "a+b&c=d#e",
		"\xff\xfe.log", "caf\xe9", "\xc0\xae\xc0\xae", "\xe2\x82", "%ff", "\ufffd"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if name == "" || name == "." || name == ".." || len(name) > MaxNameLen || strings.ContainsAny(name, "/\\\x00") {
			return
		}
		root := t.TempDir()
		if err := os.WriteFile(filepath.Join(root, name), []byte("the file"), 0o644); err != nil {
			t.Skipf("the file system refuses the name %q: %v", name, err)
		}
		h := NewHandler(root)
		serve := func(endpoint, rawQuery string) *httptest.ResponseRecorder {
			req := httptest.NewRequest("GET", "/files/"+endpoint, nil)
			req.URL.RawQuery = rawQuery
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			return w
		}
		w := serve("browse", "path=%2F")
		var entries []Entry
		if err := json.Unmarshal(w.Body.Bytes(), &entries); err != nil || w.Code != 200 || len(entries) != 1 {
			t.Fatalf("browse of a directory holding %q = %d %s", name, w.Code, w.Body)
		}
		e := entries[0]
		query := "path=" + url.QueryEscape(e.Path)
		if e.PathQuery != "" {
			query = "path=" + e.PathQuery
		}
		q, err := url.ParseQuery(query)
		if err != nil || q.Get("path") != "/"+name || string([]rune(q.Get("path"))) != e.Path || (e.PathQuery != "") == utf8.ValidString(name) {
			t.Fatalf("the listing of %q gives %+v, whose query %q names %q (%v)", name, e, query, q.Get("path"), err)
		}
		w = serve("read", query+"&offset=0")
		var got ReadResult
		if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || w.Code != 200 || got.Data != "the file" {
			t.Fatalf("read?%s of the listed %q = %d %s", query, name, w.Code, w.Body)
		}
	})
}
