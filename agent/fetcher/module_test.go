package fetcher

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mezzo-cluster/mezzo/api"
)

func TestModule(t *testing.T) {
	wasm := []byte("\x00asm\x01\x00\x00\x00")
	sum := sha256.Sum256(wasm)
	sha := hex.EncodeToString(sum[:])
	wrong := strings.Repeat("ab", 32)
	srv := newServer(t, map[string][]byte{
		"/api/v1/modules/" + sha:   wasm,
		"/api/v1/modules/" + wrong: wasm, // a master (or proxy) serving the wrong bytes
	})
	moduleURL := func(s string) string { return srv.URL + "/api/v1/modules/" + s }
	tests := []struct {
		name     string
		noURL    bool
		uri      api.CommandURI
		wantPath string
		wantErr  string
		wantIs   error
	}{
		{name: "correct hash", uri: api.CommandURI{Value: "module:" + sha}, wantPath: sha + ".wasm"},
		{name: "upper-case hash", uri: api.CommandURI{Value: "module:" + strings.ToUpper(sha)}, wantPath: sha + ".wasm"},
		{name: "output_file", uri: api.CommandURI{Value: "module:" + sha, OutputFile: "app.wasm"}, wantPath: "app.wasm"},
		{name: "cached", uri: api.CommandURI{Value: "module:" + sha, Cache: ptr(true)}, wantPath: sha + ".wasm"},
		{name: "wrong hash", uri: api.CommandURI{Value: "module:" + wrong}, wantIs: errHash},
		{name: "wrong hash cached", uri: api.CommandURI{Value: "module:" + wrong, Cache: ptr(true)}, wantIs: errHash},
		{name: "unknown module", uri: api.CommandURI{Value: "module:" + strings.Repeat("0", 64)}, wantErr: "404"},
		{name: "short hash", uri: api.CommandURI{Value: "module:abc"}, wantErr: "64 hex digits"},
		{name: "not hex", uri: api.CommandURI{Value: "module:" + strings.Repeat("g", 64)}, wantErr: "64 hex digits"},
		{name: "no ModuleURL", noURL: true, uri: api.CommandURI{Value: "module:" + sha}, wantErr: "Config.ModuleURL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{ModuleURL: moduleURL, CacheDir: t.TempDir()}
			if tt.noURL {
				cfg.ModuleURL = nil
			}
			f := newFetcher(t, cfg)
			parent, dir := sandbox(t)
			got, err := fetch(t, f, tt.uri, dir)
			if tt.wantErr != "" || tt.wantIs != nil {
				if err == nil {
					t.Fatal("no error")
				}
				if !strings.Contains(err.Error(), tt.wantErr) || tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
					t.Fatalf("error = %v, want %q / %v", err, tt.wantErr, tt.wantIs)
				}
				if tr := tree(t, parent); !slices.Equal(tr, []string{"sandbox/"}) {
					t.Errorf("left behind: %q", tr)
				}
				if ents, _ := os.ReadDir(cfg.CacheDir); len(ents) != 0 {
					t.Errorf("cache holds %d files after a failure", len(ents))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != filepath.Join(dir, tt.wantPath) {
				t.Errorf("path = %q, want %q", got, tt.wantPath)
			}
			if b, err := os.ReadFile(got); err != nil || string(b) != string(wasm) {
				t.Errorf("content = %q, %v", b, err)
			}
		})
	}
}
