package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// tarGz builds a .tar.gz holding the given files.
func tarGz(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(body))
	}
	tw.Close()
	gz.Close()
	return buf.Bytes()
}

// TestFetchURIs runs tasks that fetch URIs into their sandboxes: an
// archive is extracted, a Wasm task reads a fetched file, a broken URI fails the task at launch, and an
// archive entry that climbs out of the sandbox is refused.
func TestFetchURIs(t *testing.T) {
	c := startDev(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/app.tar.gz":
			w.Write(tarGz(t, map[string]string{"app/greeting.txt": "fetched hello\n"}))
		case "/input":
			w.Write([]byte("b a B\n"))
		case "/evil.tar.gz":
			w.Write(tarGz(t, map[string]string{"../../escaped.txt": "gotcha\n"}))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()

	out, errOut, code := c.mezzo(t, "run", "--fetch", srv.URL+"/app.tar.gz", "--command", "cat app/greeting.txt")
	if code != 0 || !strings.Contains(out, "fetched hello") {
		t.Fatalf("fetch and extract: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	// A Wasm task fetches too: the map module of the wordcount sample
	// counts the words of the file "input" in its sandbox.
	out, errOut, code = c.mezzo(t, "run", "--fetch", srv.URL+"/input", "./samples/modules/wcmap")
	if code != 0 || out != "a\t1\nb\t2\n" {
		t.Fatalf("a Wasm task with a fetched input: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	_, errOut, code = c.mezzo(t, "run", "--fetch", srv.URL+"/missing.tar.gz", "--command", "true")
	if code == 0 || !strings.Contains(errOut, "REASON_CONTAINER_LAUNCH_FAILED") || !strings.Contains(errOut, "404") {
		t.Fatalf("a missing URI: exit %d, stderr %q", code, errOut)
	}
	_, errOut, code = c.mezzo(t, "run", "--fetch", srv.URL+"/evil.tar.gz", "--command", "true")
	if code == 0 || !strings.Contains(errOut, "REASON_CONTAINER_LAUNCH_FAILED") {
		t.Fatalf("an archive escaping the sandbox: exit %d, stderr %q", code, errOut)
	}
	if _, _, code := c.mezzo(t, "run", "--fetch", "file:///etc/passwd", "--command", "true"); code == 0 {
		t.Fatalf("fetching a host file outside the allowed directories succeeded")
	}
}
