package fetcher

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/mezzo-cluster/mezzo/api"
)

func TestFetchHTTP(t *testing.T) {
	tgz := tgzBytes(t, []entry{{name: "app/run.sh", body: "echo hi"}})
	srv := newServer(t, map[string][]byte{
		"/files/hello.txt":   []byte("hello"),
		"/files/my file.txt": []byte("spaced"),
		"/files/app.tgz":     tgz,
		"/files/tool":        []byte("#!/bin/sh\n"),
		"/files/notes.gz":    gzipBytes(t, []byte("unzipped")),
	})
	tests := []struct {
		name     string
		uri      api.CommandURI
		wantPath string // relative to the sandbox; "." for the sandbox itself
		wantTree []string
		wantMode fs.FileMode // of wantPath, if set
	}{
		{name: "plain", uri: api.CommandURI{Value: srv.URL + "/files/hello.txt"},
			wantPath: "hello.txt", wantTree: []string{"hello.txt:hello"}, wantMode: 0o644},
		{name: "query ignored in name", uri: api.CommandURI{Value: srv.URL + "/files/hello.txt?token=abc"},
			wantPath: "hello.txt", wantTree: []string{"hello.txt:hello"}},
		{name: "percent-decoded name", uri: api.CommandURI{Value: srv.URL + "/files/my%20file.txt"},
			wantPath: "my file.txt", wantTree: []string{"my file.txt:spaced"}},
		{name: "output_file", uri: api.CommandURI{Value: srv.URL + "/files/hello.txt", OutputFile: "conf/greeting"},
			wantPath: "conf/greeting", wantTree: []string{"conf/", "conf/greeting:hello"}},
		{name: "executable", uri: api.CommandURI{Value: srv.URL + "/files/tool", Executable: ptr(true)},
			wantPath: "tool", wantTree: []string{"tool:#!/bin/sh\n"}, wantMode: 0o755},
		{name: "extract by default", uri: api.CommandURI{Value: srv.URL + "/files/app.tgz"},
			wantPath: ".", wantTree: []string{"app/", "app/run.sh:echo hi"}},
		{name: "extract false keeps the archive", uri: api.CommandURI{Value: srv.URL + "/files/app.tgz", Extract: ptr(false)},
			wantPath: "app.tgz", wantTree: []string{"app.tgz"}},
		{name: "executable keeps the archive", uri: api.CommandURI{Value: srv.URL + "/files/app.tgz", Executable: ptr(true)},
			wantPath: "app.tgz", wantTree: []string{"app.tgz"}, wantMode: 0o755},
		{name: "output_file decides extraction", uri: api.CommandURI{Value: srv.URL + "/files/app.tgz", OutputFile: "blob.bin"},
			wantPath: "blob.bin", wantTree: []string{"blob.bin"}},
		{name: "gz single file", uri: api.CommandURI{Value: srv.URL + "/files/notes.gz"},
			wantPath: "notes", wantTree: []string{"notes:unzipped"}},
	}
	f := newFetcher(t, Config{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, dir := sandbox(t)
			got, err := fetch(t, f, tt.uri, dir)
			if err != nil {
				t.Fatal(err)
			}
			if want := filepath.Join(dir, tt.wantPath); got != want {
				t.Errorf("path = %q, want %q", got, want)
			}
			if tr := tree(t, dir); !slices.Equal(tr, tt.wantTree) {
				t.Errorf("sandbox = %q, want %q", tr, tt.wantTree)
			}
			if tt.wantMode != 0 {
				fi, err := os.Stat(got)
				if err != nil {
					t.Fatal(err)
				}
				if fi.Mode().Perm() != tt.wantMode {
					t.Errorf("mode = %v, want %v", fi.Mode().Perm(), tt.wantMode)
				}
			}
		})
	}
}

func TestFetchErrors(t *testing.T) {
	srv := newServer(t, map[string][]byte{"/big": make([]byte, 2<<20), "/ok": []byte("ok")})
	closed := newServer(t, nil)
	closed.Close()
	tests := []struct {
		name    string
		cfg     Config
		uri     api.CommandURI
		wantErr string
		wantIs  error
	}{
		{name: "404", uri: api.CommandURI{Value: srv.URL + "/missing"}, wantErr: "404 Not Found"},
		{name: "connection refused", uri: api.CommandURI{Value: closed.URL + "/x"}, wantErr: "connection refused"},
		{name: "over MaxBytes with length", cfg: Config{MaxBytes: 1 << 20},
			uri: api.CommandURI{Value: srv.URL + "/big"}, wantIs: errTooLarge},
		{name: "over MaxBytes chunked", cfg: Config{MaxBytes: 1 << 20},
			uri: api.CommandURI{Value: srv.URL + "/big?chunked=1"}, wantIs: errTooLarge},
		{name: "unsupported scheme", uri: api.CommandURI{Value: "hdfs://nn/x"}, wantErr: `unsupported scheme "hdfs"`},
		{name: "relative path", uri: api.CommandURI{Value: "dir/file"}, wantErr: "relative paths are not supported"},
		{name: "no name in URL", uri: api.CommandURI{Value: srv.URL + "/dir/"}, wantIs: errUnsafe},
		{name: "encoded slash in name", uri: api.CommandURI{Value: srv.URL + "/a%2F..%2Fb"}, wantIs: errUnsafe},
		{name: "dot-dot name", uri: api.CommandURI{Value: srv.URL + "/%2E%2E"}, wantIs: errUnsafe},
		{name: "output_file climbs", uri: api.CommandURI{Value: srv.URL + "/ok", OutputFile: "../ok"}, wantIs: errUnsafe},
		{name: "output_file absolute", uri: api.CommandURI{Value: srv.URL + "/ok", OutputFile: "/tmp/ok"}, wantIs: errUnsafe},
		{name: "output_file is a directory", uri: api.CommandURI{Value: srv.URL + "/ok", OutputFile: "existing"},
			wantErr: "write output"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFetcher(t, tt.cfg)
			parent, dir := sandbox(t)
			if err := os.Mkdir(filepath.Join(dir, "existing"), 0o755); err != nil {
				t.Fatal(err)
			}
			_, err := fetch(t, f, tt.uri, dir)
			if err == nil {
				t.Fatal("no error")
			}
			if tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not contain %q", err, tt.wantErr)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("error %q is not %v", err, tt.wantIs)
			}
			if !strings.HasPrefix(err.Error(), "fetch ") {
				t.Errorf("error %q does not start with fetch <uri>", err)
			}
			if tr := tree(t, parent); !slices.Equal(tr, []string{"sandbox/", "sandbox/existing/"}) {
				t.Errorf("left behind: %q", tr)
			}
		})
	}
}

func TestErrorsHideCredentials(t *testing.T) {
	closed := newServer(t, nil)
	closed.Close()
	srv := newServer(t, nil)
	f := newFetcher(t, Config{})
	_, dir := sandbox(t)
	for _, u := range []string{
		strings.Replace(closed.URL, "://", "://alice:s3cret@", 1) + "/x?sig=TOPSECRET",
		strings.Replace(srv.URL, "://", "://alice:s3cret@", 1) + "/missing?sig=TOPSECRET",
		"http://alice:s3cret@[::1/bad?sig=TOPSECRET",
	} {
		_, err := fetch(t, f, api.CommandURI{Value: u}, dir)
		if err == nil {
			t.Fatalf("%s: no error", u)
		}
		for _, secret := range []string{"alice", "s3cret", "TOPSECRET"} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q reveals %q", err, secret)
			}
		}
	}
}

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://u:p@host/a/b.tgz", "https://host/a/b.tgz"},
		{"https://host/a?X-Amz-Signature=abc#frag", "https://host/a?REDACTED"},
		{"http://u:p@[::1/x?q", "http://[::1/x"},
		{"/opt/file", "/opt/file"},
		{"module:abc", "module:abc"},
	}
	for _, tt := range tests {
		if got := redact(tt.in); got != tt.want {
			t.Errorf("redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestLocal(t *testing.T) {
	src := t.TempDir()
	file := filepath.Join(src, "data.txt")
	if err := os.WriteFile(file, []byte("local"), 0o600); err != nil {
		t.Fatal(err)
	}
	tgz := filepath.Join(src, "pkg.tar.gz")
	if err := os.WriteFile(tgz, tgzBytes(t, []entry{{name: "pkg/x", body: "x"}}), 0o600); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(src, "pipe")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	other := t.TempDir()
	tests := []struct {
		name     string
		cfg      Config
		uri      string
		wantTree []string
		wantErr  string
	}{
		{name: "absolute path", uri: file, wantTree: []string{"data.txt:local"}},
		{name: "file URL", uri: "file://" + file, wantTree: []string{"data.txt:local"}},
		{name: "file URL localhost", uri: "file://localhost" + file, wantTree: []string{"data.txt:local"}},
		{name: "archive", uri: tgz, wantTree: []string{"pkg/", "pkg/x:x"}},
		{name: "in LocalDirs", cfg: Config{LocalDirs: []string{other, src}}, uri: file, wantTree: []string{"data.txt:local"}},
		{name: "outside LocalDirs", cfg: Config{LocalDirs: []string{other}}, uri: file, wantErr: "is outside the directories this agent fetches local files from (" + other + ")"},
		{name: "other host", uri: "file://elsewhere" + file, wantErr: "not this agent"},
		{name: "directory", uri: src + "/", wantErr: "not a regular file"},
		{name: "root", uri: "/", wantErr: "cannot name the output"},
		{name: "missing", uri: filepath.Join(src, "nope"), wantErr: "no such file"},
		{name: "device", uri: "/dev/null", wantErr: "not a regular file"},
		{name: "FIFO, which no writer opens", uri: fifo, wantErr: "not a regular file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFetcher(t, tt.cfg)
			_, dir := sandbox(t)
			_, err := fetch(t, f, api.CommandURI{Value: tt.uri}, dir)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tr := tree(t, dir); !slices.Equal(tr, tt.wantTree) {
				t.Errorf("sandbox = %q, want %q", tr, tt.wantTree)
			}
		})
	}
}

func TestFetchAll(t *testing.T) {
	srv := newServer(t, map[string][]byte{"/a": []byte("A"), "/b": []byte("B")})
	f := newFetcher(t, Config{})
	_, dir := sandbox(t)
	uris := []api.CommandURI{
		{Value: srv.URL + "/a"},
		{Value: srv.URL + "/b", OutputFile: "a"}, // a later URI overwrites an earlier one
		{Value: srv.URL + "/b"},
	}
	if err := f.FetchAll(context.Background(), uris, dir, Limit{}); err != nil {
		t.Fatal(err)
	}
	if tr := tree(t, dir); !slices.Equal(tr, []string{"a:B", "b:B"}) {
		t.Errorf("sandbox = %q", tr)
	}
	err := f.FetchAll(context.Background(), []api.CommandURI{{Value: srv.URL + "/missing"}, {Value: srv.URL + "/a", OutputFile: "c"}}, dir, Limit{})
	if err == nil || !strings.Contains(err.Error(), "/missing") {
		t.Fatalf("error = %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "c")); !errors.Is(err, fs.ErrNotExist) {
		t.Error("FetchAll went on after an error")
	}
}

func TestMissingSandbox(t *testing.T) {
	srv := newServer(t, map[string][]byte{"/a": []byte("A")})
	f := newFetcher(t, Config{})
	_, err := fetch(t, f, api.CommandURI{Value: srv.URL + "/a"}, filepath.Join(t.TempDir(), "nope"))
	if err == nil || !strings.Contains(err.Error(), "open sandbox") {
		t.Fatalf("error = %v", err)
	}
	if srv.total.Load() != 0 {
		t.Error("downloaded without a sandbox")
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{name: "zero", cfg: Config{}},
		{name: "default", cfg: DefaultConfig()},
		{name: "negative MaxBytes", cfg: Config{MaxBytes: -1}, wantErr: "MaxBytes"},
		{name: "negative MaxExtract", cfg: Config{MaxExtract: -1}, wantErr: "MaxExtract"},
		{name: "relative LocalDirs", cfg: Config{LocalDirs: []string{"rel"}}, wantErr: "LocalDirs"},
		{name: "negative StallTimeout", cfg: Config{StallTimeout: -1}, wantErr: "StallTimeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want one naming %s", err, tt.wantErr)
			}
		})
	}
}

func TestPlaceRemovesDirectoriesItMadeOnError(t *testing.T) {
	_, dir := sandbox(t)
	if err := os.Mkdir(filepath.Join(dir, "old"), 0o755); err != nil {
		t.Fatal(err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	if err := place(root, "no-such-temp", "old/new/deeper/file", 0o644); err == nil {
		t.Fatal("no error")
	}
	if tr := tree(t, dir); !slices.Equal(tr, []string{"old/"}) {
		t.Errorf("sandbox = %q", tr)
	}
}
