package agent

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api/module/moduletest"
)

// moduleServer serves modules by hash as a master's store does, counting
// the requests.
type moduleServer struct {
	*httptest.Server
	modules  map[string][]byte // served under the given hash
	requests atomic.Int64
	release  chan struct{} // when set, answers wait for it
}

func newModuleServer(t *testing.T, modules map[string][]byte) *moduleServer {
	t.Helper()
	s := &moduleServer{modules: modules}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		if s.release != nil {
			<-s.release
		}
		data, ok := s.modules[strings.TrimPrefix(r.URL.Path, "/api/v1/modules/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(data)
	}))
	t.Cleanup(s.Close)
	return s
}

func hashOf(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func TestModuleCache(t *testing.T) {
	good := []byte("\x00asm\x01\x00\x00\x00")
	liar := []byte("\x00asm\x01\x00\x00\x00\x00")
	wrong := hashOf([]byte("something else"))
	srv := newModuleServer(t, map[string][]byte{hashOf(good): good, wrong: liar})
	dir := t.TempDir()
	c := newModuleCache(dir, srv.Client())
	ctx := context.Background()

	if err := c.get(ctx, srv.URL, hashOf(good)); err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(filepath.Join(dir, hashOf(good)+".wasm")); err != nil || string(data) != string(good) {
		t.Fatalf("cached module %q, %v", data, err)
	}
	if err := c.get(ctx, srv.URL, hashOf(good)); err != nil || srv.requests.Load() != 1 {
		t.Fatalf("second get: %v after %d requests, want it served from disk after 1", err, srv.requests.Load())
	}

	tests := []struct {
		name, sha, want string
	}{
		{"not hex", "zz" + hashOf(good)[2:], "not a SHA-256"},
		{"upper case", strings.ToUpper(hashOf(good)), "not a SHA-256"},
		{"short", hashOf(good)[:10], "not a SHA-256"},
		{"unknown to the master", hashOf([]byte("nobody stored this")), "404 Not Found"},
		{"content of another hash", wrong, "content hashes to " + hashOf(liar)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := c.get(ctx, srv.URL, tt.sha)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("get: %v, want an error with %q", err, tt.want)
			}
			if _, err := os.Stat(filepath.Join(dir, tt.sha+".wasm")); err == nil {
				t.Fatal("a refused module was cached")
			}
		})
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".fetch-*"))
	if len(leftovers) != 0 {
		t.Fatalf("temporary files left behind: %v", leftovers)
	}
}

// Many tasks asking for one module at once fetch it once.
func TestModuleCacheFetchesOnce(t *testing.T) {
	mod := []byte("\x00asm\x01\x00\x00\x00")
	srv := newModuleServer(t, map[string][]byte{hashOf(mod): mod})
	srv.release = make(chan struct{})
	c := newModuleCache(t.TempDir(), srv.Client())
	const n = 8
	errs := make(chan error, n)
	var started sync.WaitGroup
	for range n {
		started.Add(1)
		go func() {
			started.Done()
			errs <- c.get(context.Background(), srv.URL, hashOf(mod))
		}()
	}
	started.Wait()
	close(srv.release)
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if got := srv.requests.Load(); got != 1 {
		t.Fatalf("%d fetches for %d concurrent gets, want 1", got, n)
	}
}

// TestModuleCacheReplacesSpoiltFile starts a cache over a module
// directory that already holds the module's file, as an agent restarted
// after a crash finds it: the first get keeps a good file and fetches a
// spoilt one again, and later gets trust the file they checked.
func TestModuleCacheReplacesSpoiltFile(t *testing.T) {
	mod := []byte("\x00asm\x01\x00\x00\x00\x01\x04\x01\x60\x00\x00")
	sha := hashOf(mod)
	tests := []struct {
		name      string
		onDisk    []byte
		wantFetch bool
	}{
		{name: "good", onDisk: mod},
		{name: "truncated", onDisk: mod[:5], wantFetch: true},
		{name: "empty", onDisk: []byte{}, wantFetch: true},
		{name: "a byte flipped", onDisk: append(slices.Clone(mod[:len(mod)-1]), 0xff), wantFetch: true},
		{name: "longer", onDisk: append(slices.Clone(mod), 0), wantFetch: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newModuleServer(t, map[string][]byte{sha: mod})
			dir := t.TempDir()
			path := filepath.Join(dir, sha+".wasm")
			if err := os.WriteFile(path, tt.onDisk, 0o644); err != nil {
				t.Fatal(err)
			}
			c := newModuleCache(dir, srv.Client())
			for i := range 2 {
				if err := c.get(context.Background(), srv.URL, sha); err != nil {
					t.Fatalf("get %d: %v", i+1, err)
				}
			}
			if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, mod) {
				t.Errorf("the module's file holds %q (%v), want the module", got, err)
			}
			want := int64(0)
			if tt.wantFetch {
				want = 1
			}
			if got := srv.requests.Load(); got != want {
				t.Errorf("%d fetches for two gets, want %d", got, want)
			}
		})
	}
}

// TestModuleCompileCost checks what the agent expects compiling a module
// to cost, which sizes its executor's cgroup: by its size for a module
// of few functions, by its functions for one of many small ones (100,000
// empty functions in 400 KB took wasmtime 569 MB, where its size alone
// allowed 25 MB, and the shared executor was OOM-killed with every task
// in it), and by its size for a file Validate refuses.
func TestModuleCompileCost(t *testing.T) {
	dir := t.TempDir()
	c := newModuleCache(dir, http.DefaultClient)
	many := moduletest.ManyFunctions(100_000)
	// Ten functions and a custom section of a MiB: its size rules.
	padded := append(moduletest.ManyFunctions(10), 0, 0x84, 0x80, 0x40, 3, 'p', 'a', 'd') // id 0, size 1 MiB + 4, name "pad"
	padded = append(padded, make([]byte, 1<<20)...)
	for _, tc := range []struct {
		name string
		wasm []byte
		want uint64
	}{
		{name: "big, few functions", wasm: padded, want: compileFactor * uint64(len(padded))},
		{name: "many functions", wasm: many, want: compilePerFunction * 100_000},
		{name: "not a module", wasm: []byte("not wasm at all"), want: compileFactor * 15},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sum := sha256.Sum256(tc.wasm)
			sha := hex.EncodeToString(sum[:])
			if err := os.WriteFile(filepath.Join(dir, sha+".wasm"), tc.wasm, 0o644); err != nil {
				t.Fatal(err)
			}
			if got := c.compileCost(sha); got != tc.want {
				t.Errorf("compileCost = %d, want %d", got, tc.want)
			}
		})
	}
	if got := c.compileCost(strings.Repeat("0", 64)); got != 0 {
		t.Errorf("compileCost of a module not on disk = %d, want 0", got)
	}
	// An executor's SUBSCRIBE names modules too (adoptListed): a "hash"
	// that leads out of the module directory reads nothing there.
	outside := filepath.Join(filepath.Dir(dir), "outside")
	if err := os.WriteFile(outside+".wasm", many, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, sha := range []string{"../outside", outside, strings.Repeat("A", 64)} {
		if got := c.compileCost(sha); got != 0 {
			t.Errorf("compileCost(%q) = %d, want 0: not a module's hash", sha, got)
		}
	}
}

// TestModuleCacheWaitersGiveUp has two gets wait for a module the master
// never sends: the first to give up returns at once and leaves the fetch
// to the other; the last cancels the download, whose request ends.
func TestModuleCacheWaitersGiveUp(t *testing.T) {
	srv := newHangServer(t)
	c := newModuleCache(t.TempDir(), srv.Client())
	sha := hashOf([]byte("never sent"))
	path := "/api/v1/modules/" + sha
	var cancels []context.CancelFunc
	var errs []chan error
	for range 2 {
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		errc := make(chan error, 1)
		go func() { errc <- c.get(ctx, srv.URL, sha) }()
		cancels, errs = append(cancels, cancel), append(errs, errc)
	}
	srv.await(t, srv.started, "started", path)
	awaitWaiters(t, c, sha, len(cancels))
	for i := range cancels {
		cancels[i]()
		select {
		case err := <-errs[i]:
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("get %d given up: %v, want context.Canceled", i, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("get %d still waits after its context ended", i)
		}
		c.mu.Lock()
		shared := c.inflight[sha] != nil
		c.mu.Unlock()
		if last := i == len(cancels)-1; shared == last {
			t.Fatalf("after %d of %d gets gave up, the fetch is shared: %v", i+1, len(cancels), shared)
		}
	}
	srv.await(t, srv.ended, "ended", path)
}

// awaitWaiters waits until n gets, no more and no fewer, wait for the
// fetch of module sha.
func awaitWaiters(t *testing.T, c *moduleCache, sha string, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		c.mu.Lock()
		joined := c.inflight[sha] != nil && c.inflight[sha].waiters == n
		c.mu.Unlock()
		if joined {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("never %d gets waiting for the fetch of %s", n, sha)
		}
	}
}
