package fetcher

import (
	"context"
	"crypto/rand"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

// fetchAll is FetchAll with a test timeout.
func fetchAll(t *testing.T, f *Fetcher, uris []api.CommandURI, dir string, limit Limit) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return f.FetchAll(ctx, uris, dir, limit)
}

// TestFetchAllLimit fetches bombs, and URIs that only together exceed
// the call's Limit, with MaxBytes and MaxExtract at their defaults, far
// above it: the call fails at the Limit, naming the URI, the limit and
// its origin, and the URI that failed leaves nothing in the sandbox.
func TestFetchAllLimit(t *testing.T) {
	const limit = 1 << 20
	half := rand.Text() + strings.Repeat("x", 600<<10) // a little over half the limit
	files := map[string][]byte{
		"/bomb.zip":    zipBytes(t, []entry{{name: "small", body: "s"}, {name: "zeros", size: 8 * limit}}),
		"/bomb.tar.gz": tgzBytes(t, []entry{{name: "zeros", size: 8 * limit}}),
		"/bomb.txt.gz": gzipBytes(t, make([]byte, 8*limit)),
		"/a":           []byte(half),
		"/b":           []byte(half),
		"/b.tar.gz":    tgzBytes(t, []entry{{name: "b", body: half}}),
	}
	tests := []struct {
		name    string
		paths   []string // fetched in order; the last one fails
		cache   bool
		wantDir []string // what the sandbox holds after
	}{
		{name: "zip bomb", paths: []string{"/bomb.zip"}, wantDir: []string{}},
		{name: "tar.gz bomb", paths: []string{"/bomb.tar.gz"}, wantDir: []string{}},
		{name: ".gz bomb", paths: []string{"/bomb.txt.gz"}, wantDir: []string{}},
		{name: "two files", paths: []string{"/a", "/b"}, wantDir: []string{"a"}},
		{name: "a file and an archive", paths: []string{"/a", "/b.tar.gz"}, wantDir: []string{"a"}},
		{name: "two files from the cache", paths: []string{"/a", "/b"}, cache: true, wantDir: []string{"a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, files)
			f := newFetcher(t, Config{CacheDir: t.TempDir()})
			parent, dir := sandbox(t)
			var uris []api.CommandURI
			for _, p := range tt.paths {
				uris = append(uris, api.CommandURI{Value: srv.URL + p, Cache: ptr(tt.cache)})
			}
			err := fetchAll(t, f, uris, dir, Limit{Bytes: limit, Origin: "the task's disk of 1 MB"})
			if !errors.Is(err, errOverLimit) {
				t.Fatalf("error = %v, want the limit exceeded", err)
			}
			last := srv.URL + tt.paths[len(tt.paths)-1]
			for _, want := range []string{strconv.Quote(last), strconv.Itoa(limit) + " bytes", "(the task's disk of 1 MB)"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %s", err, want)
				}
			}
			want := []string{"sandbox/"}
			for _, name := range tt.wantDir {
				want = append(want, "sandbox/"+name)
			}
			if tr := tree(t, parent); !slices.Equal(tr, want) {
				t.Errorf("left behind: %q, want %q", tr, want)
			}
		})
	}
}

// TestFetchAllLimitCountsWhatStays fetches a .tar, whose download and
// extracted files are in the sandbox together for a while, then a file:
// the download, removed once extracted, no longer counts, so both fit a
// Limit that the download, the extracted file and the second file
// together would exceed.
func TestFetchAllLimitCountsWhatStays(t *testing.T) {
	body := rand.Text() + strings.Repeat("x", 400<<10)
	srv := newServer(t, map[string][]byte{
		"/app.tar": tarBytes(t, []entry{{name: "app", body: body}}),
		"/data":    []byte(body),
	})
	f := newFetcher(t, Config{})
	_, dir := sandbox(t)
	uris := []api.CommandURI{{Value: srv.URL + "/app.tar"}, {Value: srv.URL + "/data"}}
	if err := fetchAll(t, f, uris, dir, Limit{Bytes: 1 << 20, Origin: "test"}); err != nil {
		t.Fatal(err)
	}
	if tr := tree(t, dir); !slices.Equal(tr, []string{"app", "data"}) {
		t.Errorf("sandbox = %q", tr)
	}
}

// TestFetchAllLimitNothingLeft fetches with a Limit of no bytes, as on a
// disk already short of its reserve: even an empty file may be fetched,
// but not a byte more.
func TestFetchAllLimitNothingLeft(t *testing.T) {
	srv := newServer(t, map[string][]byte{"/empty": {}, "/one": []byte("1")})
	f := newFetcher(t, Config{})
	parent, dir := sandbox(t)
	limit := Limit{Bytes: 0, Origin: "the 0 MB free on the agent's disk, less its reserve"}
	if err := fetchAll(t, f, []api.CommandURI{{Value: srv.URL + "/empty"}}, dir, limit); err != nil {
		t.Fatal(err)
	}
	err := fetchAll(t, f, []api.CommandURI{{Value: srv.URL + "/one"}}, dir, limit)
	if !errors.Is(err, errOverLimit) {
		t.Fatalf("error = %v, want the limit exceeded", err)
	}
	if tr := tree(t, parent); !slices.Equal(tr, []string{"sandbox/", "sandbox/empty:"}) {
		t.Errorf("left behind: %q", tr)
	}
}

// TestFetchAllSharedRoom fetches into two sandboxes drawing on one Room
// of 1 MB, each call's own Limit far above it: the first call's file
// stays counted, so a second that would fit alone fails, naming the
// room's origin, and gives back what it wrote (a .gz, whose partly
// decompressed file is removed); a third, small enough for what is
// left, fits.
func TestFetchAllSharedRoom(t *testing.T) {
	half := rand.Text() + strings.Repeat("x", 600<<10) // a little over half the room
	srv := newServer(t, map[string][]byte{"/a": []byte(half), "/b.txt.gz": gzipBytes(t, []byte(half)), "/small": []byte(half[:300<<10])})
	f := newFetcher(t, Config{})
	var room Room
	room.Set(1<<20, "the shared room")
	limit := Limit{Bytes: 8 << 20, Origin: "the task's disk of 8 MB", Shared: &room}
	steps := []struct {
		path    string
		wantErr bool
	}{
		{path: "/a"},
		{path: "/b.txt.gz", wantErr: true},
		{path: "/small"},
	}
	for _, s := range steps {
		_, dir := sandbox(t)
		err := fetchAll(t, f, []api.CommandURI{{Value: srv.URL + s.path}}, dir, limit)
		if !s.wantErr {
			if err != nil {
				t.Fatalf("fetch %s: %v", s.path, err)
			}
			continue
		}
		if !errors.Is(err, errOverLimit) || !strings.Contains(err.Error(), "(the shared room)") {
			t.Fatalf("fetch %s: error = %v, want the shared room exceeded", s.path, err)
		}
		if tr := tree(t, dir); len(tr) != 0 {
			t.Errorf("fetch %s left %q", s.path, tr)
		}
	}
}
