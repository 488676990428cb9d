package wasmbuild

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBuild(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	broken := t.TempDir()
	os.WriteFile(filepath.Join(broken, "go.mod"), []byte("module broken\n\ngo 1.26\n"), 0o644)
	os.WriteFile(filepath.Join(broken, "main.go"), []byte("package main\n\nfunc main() { undefined() }\n"), 0o644)

	tests := []struct {
		name, dir, pkg string
		wantErr        string // "" means a module
	}{
		{"relative directory without ./", root, "samples/modules/hello", ""},
		{"relative directory", root, "./samples/modules/hello", ""},
		{"absolute directory", "", filepath.Join(root, "samples/modules/hello"), ""},
		{"import path", root, "github.com/mezzo-cluster/mezzo/samples/modules/hello", ""},
		{"compile error", broken, ".", "undefined"},
		{"missing package", root, "./samples/modules/nothing-here", "nothing-here"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wasm, err := Build(context.Background(), tt.dir, tt.pkg)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.HasPrefix(wasm, []byte("\x00asm")) {
					t.Fatalf("got %d bytes that are not a Wasm module", len(wasm))
				}
				return
			}
			var be *BuildError
			if !errors.As(err, &be) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want a *BuildError mentioning %q", err, tt.wantErr)
			}
		})
	}
}
