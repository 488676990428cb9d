package fetcher

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

func TestCache(t *testing.T) {
	tgz := tgzBytes(t, []entry{{name: "x", body: "x"}})
	tests := []struct {
		name      string
		noCache   bool // Config.CacheDir ""
		uri       func(base string) api.CommandURI
		fetches   int
		wantHits  int
		wantTree  []string
		wantCache int // files in CacheDir at the end
	}{
		{name: "cache hit", uri: func(b string) api.CommandURI { return api.CommandURI{Value: b + "/f", Cache: ptr(true)} },
			fetches: 3, wantHits: 1, wantTree: []string{"f:content"}, wantCache: 1},
		{name: "cached archive extracted each time",
			uri:     func(b string) api.CommandURI { return api.CommandURI{Value: b + "/a.tgz", Cache: ptr(true)} },
			fetches: 2, wantHits: 1, wantTree: []string{"x:x"}, wantCache: 1},
		{name: "cached executable", uri: func(b string) api.CommandURI {
			return api.CommandURI{Value: b + "/f", Cache: ptr(true), Executable: ptr(true)}
		}, fetches: 2, wantHits: 1, wantTree: []string{"f:content"}, wantCache: 1},
		{name: "cache false", uri: func(b string) api.CommandURI { return api.CommandURI{Value: b + "/f"} },
			fetches: 2, wantHits: 2, wantTree: []string{"f:content"}, wantCache: 0},
		{name: "no CacheDir", noCache: true,
			uri:     func(b string) api.CommandURI { return api.CommandURI{Value: b + "/f", Cache: ptr(true)} },
			fetches: 2, wantHits: 2, wantTree: []string{"f:content"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, map[string][]byte{"/f": []byte("content"), "/a.tgz": tgz})
			cacheDir := filepath.Join(t.TempDir(), "cache")
			cfg := Config{CacheDir: cacheDir}
			if tt.noCache {
				cfg.CacheDir = ""
			}
			f := newFetcher(t, cfg)
			for i := 0; i < tt.fetches; i++ {
				_, dir := sandbox(t)
				if _, err := fetch(t, f, tt.uri(srv.URL), dir); err != nil {
					t.Fatal(err)
				}
				if tr := tree(t, dir); !slices.Equal(tr, tt.wantTree) {
					t.Errorf("fetch %d: sandbox = %q, want %q", i, tr, tt.wantTree)
				}
			}
			if got := int(srv.total.Load()); got != tt.wantHits {
				t.Errorf("%d downloads, want %d", got, tt.wantHits)
			}
			if tt.noCache {
				return
			}
			ents, err := os.ReadDir(cacheDir)
			if err != nil {
				t.Fatal(err)
			}
			if len(ents) != tt.wantCache {
				t.Errorf("cache holds %d files, want %d", len(ents), tt.wantCache)
			}
		})
	}
}

func TestCacheNotSharedWithSandbox(t *testing.T) {
	srv := newServer(t, map[string][]byte{"/f": []byte("pristine")})
	f := newFetcher(t, Config{CacheDir: t.TempDir()})
	uri := api.CommandURI{Value: srv.URL + "/f", Cache: ptr(true)}
	_, dir1 := sandbox(t)
	p, err := fetch(t, f, uri, dir1)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("tampered"), 0o644); err != nil { // what a task might do
		t.Fatal(err)
	}
	_, dir2 := sandbox(t)
	p2, err := fetch(t, f, uri, dir2)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p2); string(b) != "pristine" {
		t.Errorf("second fetch got %q", b)
	}
}

// TestCacheIsPrivate checks that the cache is the agent's alone: tasks
// of every framework can reach the work directory it is in, and an entry
// may be one framework's private artifact. A cache directory an earlier
// build made open is closed.
func TestCacheIsPrivate(t *testing.T) {
	srv := newServer(t, map[string][]byte{"/f": []byte("private")})
	cacheDir := filepath.Join(t.TempDir(), "cache")
	if err := os.Mkdir(cacheDir, 0o755); err != nil {
		t.Fatal(err)
	}
	f := newFetcher(t, Config{CacheDir: cacheDir})
	_, dir := sandbox(t)
	if _, err := fetch(t, f, api.CommandURI{Value: srv.URL + "/f", Cache: ptr(true)}, dir); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(cacheDir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("cache directory %v (%v), want mode 0700", fi.Mode(), err)
	}
	entries, _ := os.ReadDir(cacheDir)
	if len(entries) == 0 {
		t.Fatal("nothing cached")
	}
	for _, e := range entries {
		if fi, err := e.Info(); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("cache entry %s: %v (%v), want mode 0600", e.Name(), fi.Mode(), err)
		}
	}
}

func TestCacheConcurrent(t *testing.T) {
	srv := newServer(t, map[string][]byte{"/f": []byte("shared"), "/g": []byte("other")})
	srv.gate = make(chan struct{})
	f := newFetcher(t, Config{CacheDir: t.TempDir()})
	const n = 16
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	dirs := make([]string, 2*n)
	for i := range dirs {
		_, dirs[i] = sandbox(t)
	}
	for i := 0; i < 2*n; i++ {
		wg.Go(func() {
			uri := api.CommandURI{Value: srv.URL + []string{"/f", "/g"}[i%2], Cache: ptr(true)}
			_, err := fetch(t, f, uri, dirs[i])
			errs <- err
		})
	}
	// Let every fetch join a download before the server answers.
	waitFor(t, func() bool { return waiters(f) == 2*n })
	close(srv.gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if srv.count("/f") != 1 || srv.count("/g") != 1 {
		t.Errorf("downloads: /f %d, /g %d, want 1 each", srv.count("/f"), srv.count("/g"))
	}
	for i, dir := range dirs {
		want := []string{[]string{"f:shared", "g:other"}[i%2]}
		if tr := tree(t, dir); !slices.Equal(tr, want) {
			t.Errorf("sandbox %d = %q, want %q", i, tr, want)
		}
	}
}

func TestCacheCancel(t *testing.T) {
	srv := newServer(t, map[string][]byte{"/f": []byte("late")})
	srv.gate = make(chan struct{})
	cacheDir := t.TempDir()
	f := newFetcher(t, Config{CacheDir: cacheDir})
	uri := api.CommandURI{Value: srv.URL + "/f", Cache: ptr(true)}

	// Two fetches wait for one download; the first gives up, the second
	// still gets the file.
	ctx1, cancel1 := context.WithCancel(context.Background())
	_, dir1 := sandbox(t)
	_, dir2 := sandbox(t)
	res1 := make(chan error, 1)
	res2 := make(chan error, 1)
	go func() { _, err := f.Fetch(ctx1, uri, dir1); res1 <- err }()
	waitFor(t, func() bool { return srv.total.Load() == 1 })
	go func() { _, err := fetch(t, f, uri, dir2); res2 <- err }()
	waitFor(t, func() bool { return waiters(f) == 2 })
	cancel1()
	if err := <-res1; err == nil {
		t.Fatal("cancelled fetch succeeded")
	}
	close(srv.gate)
	if err := <-res2; err != nil {
		t.Fatal(err)
	}
	if srv.total.Load() != 1 {
		t.Errorf("%d downloads, want 1", srv.total.Load())
	}

	// A fetch whose only waiter gives up cancels the download, leaving no
	// cache file, and the next fetch starts afresh.
	srv2 := newServer(t, map[string][]byte{"/f": []byte("again")})
	srv2.gate = make(chan struct{})
	uri2 := api.CommandURI{Value: srv2.URL + "/f", Cache: ptr(true)}
	ctx3, cancel3 := context.WithCancel(context.Background())
	res3 := make(chan error, 1)
	go func() { _, err := f.Fetch(ctx3, uri2, dir1); res3 <- err }()
	waitFor(t, func() bool { return srv2.total.Load() == 1 })
	cancel3()
	if err := <-res3; err == nil {
		t.Fatal("cancelled fetch succeeded")
	}
	close(srv2.gate)
	if _, err := fetch(t, f, uri2, dir2); err != nil {
		t.Fatal(err)
	}
	if srv2.total.Load() != 2 {
		t.Errorf("%d downloads, want 2", srv2.total.Load())
	}
	waitFor(t, func() bool {
		ents, _ := os.ReadDir(cacheDir)
		return len(ents) == 2 // the two cache files, no temporary ones
	})
}

// waitFor polls cond until it holds, failing the test after 10 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 10 s")
		}
		time.Sleep(time.Millisecond)
	}
}

// waiters counts the fetches waiting for cache downloads.
func waiters(f *Fetcher) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, fl := range f.flights {
		n += fl.waiters
	}
	return n
}

// TestCacheEviction fills a cache bounded to two entries with three: the
// entry used longest ago goes (a hit counts as a use), the others are
// served from the cache, and the evicted one is downloaded again. A
// download cut short before the fetcher started is removed.
func TestCacheEviction(t *testing.T) {
	body := bytes.Repeat([]byte("x"), 100)
	srv := newServer(t, map[string][]byte{"/a": body, "/b": body, "/c": body})
	cacheDir := t.TempDir()
	leftover := filepath.Join(cacheDir, cacheTempPrefix+"crashed")
	if err := os.WriteFile(leftover, body, 0o600); err != nil {
		t.Fatal(err)
	}
	f := newFetcher(t, Config{CacheDir: cacheDir, CacheMaxBytes: 250})
	if _, err := os.Stat(leftover); !os.IsNotExist(err) {
		t.Errorf("a download cut short was left in the cache: %v", err)
	}
	_, dir := sandbox(t)
	get := func(name string) {
		t.Helper()
		uri := api.CommandURI{Value: srv.URL + "/" + name, Cache: ptr(true), OutputFile: name + "-" + strconv.Itoa(srv.count("/"+name))}
		if _, err := fetch(t, f, uri, dir); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"a", "b", "a", "c"} { // b was used longest ago when c comes
		get(name)
	}
	cachedNow := func(name string) bool {
		_, err := os.Stat(filepath.Join(cacheDir, cacheKey(srv.URL+"/"+name)))
		return err == nil
	}
	for name, want := range map[string]bool{"a": true, "b": false, "c": true} {
		if got := cachedNow(name); got != want {
			t.Errorf("%s cached %v, want %v", name, got, want)
		}
	}
	get("b")
	get("c")
	for name, want := range map[string]int{"a": 1, "b": 2, "c": 1} {
		if got := srv.count("/" + name); got != want {
			t.Errorf("%s downloaded %d times, want %d", name, got, want)
		}
	}
}
