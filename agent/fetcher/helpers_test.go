package fetcher

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

// entry is one archive entry for the builders below.
type entry struct {
	name string
	body string
	typ  byte   // tar type; 0 means a regular file (or a directory if name ends in /)
	link string // symlink or hard link target
	mode int64  // 0 means 0644 (0755 for directories)
	size int64  // for zero-filled bombs: a file of this many zero bytes, body ignored
}

func tarBytes(t testing.TB, entries []entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Mode: e.mode, Typeflag: e.typ, Linkname: e.link, ModTime: time.Unix(0, 0)}
		switch {
		case e.typ == 0 && strings.HasSuffix(e.name, "/"):
			hdr.Typeflag = tar.TypeDir
		case e.typ == 0:
			hdr.Typeflag = tar.TypeReg
			hdr.Size = int64(len(e.body))
			if e.size > 0 {
				hdr.Size = e.size
			}
		}
		if e.typ == tar.TypeXGlobalHeader {
			hdr = &tar.Header{Typeflag: e.typ, Name: e.name, PAXRecords: map[string]string{"comment": "global"}}
		} else if hdr.Mode == 0 {
			hdr.Mode = 0o644
			if hdr.Typeflag == tar.TypeDir {
				hdr.Mode = 0o755
			}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if hdr.Typeflag == tar.TypeReg {
			if e.size > 0 {
				writeZeros(t, tw, e.size)
			} else if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gzipBytes(t testing.TB, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func tgzBytes(t testing.TB, entries []entry) []byte {
	t.Helper()
	return gzipBytes(t, tarBytes(t, entries))
}

func zipBytes(t testing.TB, entries []entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		fh := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		mode := fs.FileMode(e.mode)
		if mode == 0 {
			mode = 0o644
		}
		switch {
		case e.typ == tar.TypeSymlink:
			mode = fs.ModeSymlink | 0o777
		case e.typ == tar.TypeChar:
			mode = fs.ModeDevice | fs.ModeCharDevice | 0o644
		case strings.HasSuffix(e.name, "/"):
			mode = fs.ModeDir | 0o755
		}
		fh.SetMode(mode)
		w, err := zw.CreateHeader(fh)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case e.typ == tar.TypeSymlink:
			_, err = w.Write([]byte(e.link))
		case e.size > 0:
			writeZeros(t, w, e.size)
		default:
			_, err = w.Write([]byte(e.body))
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func writeZeros(t testing.TB, w interface{ Write([]byte) (int, error) }, n int64) {
	t.Helper()
	zeros := make([]byte, 64<<10)
	for n > 0 {
		k := min(n, int64(len(zeros)))
		if _, err := w.Write(zeros[:k]); err != nil {
			t.Fatal(err)
		}
		n -= k
	}
}

// server serves files by path and counts requests per path.
type server struct {
	*httptest.Server
	mu    sync.Mutex
	files map[string][]byte
	hits  map[string]int
	total atomic.Int64
	// gate, if set, is waited on before each answer.
	gate chan struct{}
}

func newServer(t *testing.T, files map[string][]byte) *server {
	t.Helper()
	s := &server{files: files, hits: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *server) serve(w http.ResponseWriter, r *http.Request) {
	s.total.Add(1)
	s.mu.Lock()
	s.hits[r.URL.Path]++
	body, ok := s.files[r.URL.Path]
	gate := s.gate
	s.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-r.Context().Done():
			return
		}
	}
	if !ok {
		http.NotFound(w, r)
		return
	}
	if r.URL.Query().Has("chunked") {
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush() // no Content-Length
	}
	w.Write(body)
}

func (s *server) count(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[path]
}

func newFetcher(t *testing.T, cfg Config) *Fetcher {
	t.Helper()
	f, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// sandbox returns a fresh sandbox directory inside its own parent, so that
// tests can check nothing was written beside it.
func sandbox(t *testing.T) (parent, dir string) {
	t.Helper()
	parent = t.TempDir()
	dir = filepath.Join(parent, "sandbox")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return parent, dir
}

// tree lists everything under dir as "path" for files (with ":body" when
// short), "path/" for directories and "path -> target" for links.
func tree(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			out = append(out, rel+" -> "+target)
		case d.IsDir():
			out = append(out, rel+"/")
		default:
			b, _ := os.ReadFile(p)
			if len(b) <= 64 {
				out = append(out, rel+":"+string(b))
			} else {
				out = append(out, rel)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func ptr[T any](v T) *T { return &v }

// fetch is Fetch with a test timeout.
func fetch(t *testing.T, f *Fetcher, uri api.CommandURI, dir string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return f.Fetch(ctx, uri, dir)
}
