package fetcher

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

// TestStallTimeout fetches from servers that go silent — before their
// headers, and in the middle of the body — with a short StallTimeout:
// each fetch fails as stalled, naming the URI without its credentials,
// leaves nothing in the sandbox, and the server sees its request end. A
// server that is slow but keeps sending is not cut off.
func TestStallTimeout(t *testing.T) {
	release := make(chan struct{})
	ended := make(chan string, 8) // the paths whose requests ended before release
	mux := http.NewServeMux()
	hang := func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
			ended <- r.URL.Path
		case <-release:
		}
	}
	mux.HandleFunc("/silent", hang)
	mux.HandleFunc("/half", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "10")
		w.Write([]byte("12345"))
		w.(http.Flusher).Flush()
		hang(w, r)
	})
	mux.HandleFunc("/cached", hang)
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		for range 5 {
			w.Write([]byte("ab"))
			w.(http.Flusher).Flush()
			time.Sleep(20 * time.Millisecond)
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		close(release)
		srv.Close()
	})
	secret := strings.Replace(srv.URL, "://", "://alice:s3cret@", 1)

	f := newFetcher(t, Config{StallTimeout: 100 * time.Millisecond, CacheDir: t.TempDir()})
	for _, tt := range []struct {
		name, path string
		cache      bool
	}{
		{"silent before its headers", "/silent", false},
		{"silent in its body", "/half", false},
		{"silent, into the cache", "/cached", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, dir := sandbox(t)
			_, err := fetch(t, f, api.CommandURI{Value: secret + tt.path + "?sig=TOPSECRET", Cache: ptr(tt.cache)}, dir)
			if !errors.Is(err, errStalled) {
				t.Fatalf("error %v, want a stall", err)
			}
			if want := srv.URL + tt.path; !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "no bytes arrived for 100ms") {
				t.Errorf("error %q does not name %s and the stall timeout", err, want)
			}
			for _, s := range []string{"alice", "s3cret", "TOPSECRET"} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error %q reveals %q", err, s)
				}
			}
			if got := tree(t, dir); len(got) > 0 {
				t.Errorf("sandbox holds %v after a failed fetch", got)
			}
			select {
			case p := <-ended:
				if p != tt.path {
					t.Errorf("request to %s ended, want %s", p, tt.path)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("the server's request for %s is still open", tt.path)
			}
		})
	}

	t.Run("slow but steady", func(t *testing.T) {
		f := newFetcher(t, Config{StallTimeout: 5 * time.Second})
		_, dir := sandbox(t)
		if _, err := fetch(t, f, api.CommandURI{Value: srv.URL + "/slow"}, dir); err != nil {
			t.Fatal(err)
		}
		if got := tree(t, dir); len(got) != 1 || got[0] != "slow:ababababab" {
			t.Errorf("sandbox holds %v, want slow:ababababab", got)
		}
	})
}
