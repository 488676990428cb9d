package modules

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// emptyModule is the smallest valid module: the magic number and version.
var emptyModule = []byte{0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00}

// withType is a module with one function type and no functions, whose
// type section is cut short when truncated.
var withType = []byte{0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x04, 0x01, 0x60, 0x00, 0x00}

// tooManyTypes is a module whose type section declares 999,937 types
// and holds none.
func tooManyTypes() []byte {
	return append(append([]byte{}, emptyModule...), 0x01, 0x04, 0x81, 0x84, 0x3d, 0x00)
}

func TestPutValidates(t *testing.T) {
	tests := []struct {
		name    string
		wasm    []byte
		wantErr string
	}{
		{name: "empty module", wasm: emptyModule},
		{name: "module with a type", wasm: withType},
		{name: "nothing", wasm: nil, wantErr: "magic number"},
		{name: "text", wasm: []byte("(module)"), wantErr: "magic number"},
		{name: "wrong version", wasm: []byte{0x00, 0x61, 0x73, 0x6d, 0x02, 0x00, 0x00, 0x00}, wantErr: "version"},
		{name: "truncated section", wasm: withType[:len(withType)-2], wantErr: "invalid module"},
		{name: "trailing garbage", wasm: append(append([]byte{}, emptyModule...), 0xff, 0xff), wantErr: "invalid module"},
		// api/module's own "module: " prefix is not said twice.
		{name: "count past the bytes", wasm: tooManyTypes(), wantErr: "invalid module: at byte 13: 999937 types declared"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(t.TempDir(), CompileCheck)
			if err != nil {
				t.Fatal(err)
			}
			m, err := s.Put(context.Background(), tt.wasm)
			if tt.wantErr != "" {
				var invalid *InvalidError
				if !errors.As(err, &invalid) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Put: %v, want an InvalidError mentioning %q", err, tt.wantErr)
				}
				if len(s.List()) != 0 {
					t.Fatalf("an invalid module was stored")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(tt.wasm)
			if m.SHA256 != hex.EncodeToString(sum[:]) || m.Size != int64(len(tt.wasm)) {
				t.Fatalf("Put = %+v", m)
			}
		})
	}
}

func TestStoreRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, CompileCheck)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a, err := s.Put(ctx, emptyModule)
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.Put(ctx, emptyModule)
	if err != nil || again != a {
		t.Fatalf("second Put of the same bytes = %+v, %v; want %+v", again, err, a)
	}
	b, err := s.Put(ctx, withType)
	if err != nil {
		t.Fatal(err)
	}
	f, err := s.Open(b.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(f)
	f.Close()
	if string(got) != string(withType) {
		t.Fatalf("Open returned %x", got)
	}
	if _, err := s.Open(strings.Repeat("0", 64)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Open of an unknown hash: %v, want ErrNotFound", err)
	}
	// Leftover temporary files and foreign names are ignored on reopen.
	os.WriteFile(filepath.Join(dir, ".upload-123"), []byte("partial"), 0o644)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o644)
	reopened, err := Open(dir, CompileCheck)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(reopened.List()); n != 2 {
		t.Fatalf("reopened store lists %d modules, want 2", n)
	}
	if _, ok := reopened.Get(a.SHA256); !ok {
		t.Fatalf("reopened store lost %s", a.SHA256)
	}
}

func TestValidHash(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{strings.Repeat("ab", 32), true},
		{strings.Repeat("AB", 32), false},
		{strings.Repeat("ab", 31), false},
		{strings.Repeat("zz", 32), false},
		{"../" + strings.Repeat("a", 61), false},
		{"", false},
	}
	for _, tt := range tests {
		if got := ValidHash(tt.in); got != tt.want {
			t.Errorf("ValidHash(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// TestRemove removes a stored module: it is gone from the index, from
// Open and from disk, a reopened store does not find it, a second Remove
// is no error, and the same bytes can be stored again.
func TestRemove(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, CompileCheck)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a, err := s.Put(ctx, emptyModule)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Put(ctx, withType)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := s.Remove(a.SHA256); err != nil {
			t.Fatalf("Remove %d: %v", i+1, err)
		}
	}
	if _, ok := s.Get(a.SHA256); ok {
		t.Error("Get finds the removed module")
	}
	if _, err := s.Open(a.SHA256); !errors.Is(err, ErrNotFound) {
		t.Errorf("Open of the removed module: %v, want ErrNotFound", err)
	}
	if _, err := os.Stat(filepath.Join(dir, a.SHA256+".wasm")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the removed module's file: %v, want it gone", err)
	}
	reopened, err := Open(dir, CompileCheck)
	if err != nil {
		t.Fatal(err)
	}
	if mods := reopened.List(); len(mods) != 1 || mods[0].SHA256 != b.SHA256 {
		t.Errorf("reopened store lists %+v, want only %s", mods, b.SHA256)
	}
	if err := s.Remove("../" + strings.Repeat("a", 61)); err == nil {
		t.Error("Remove of a name that is no hash succeeded")
	}
	if again, err := s.Put(ctx, emptyModule); err != nil || again.SHA256 != a.SHA256 {
		t.Fatalf("Put after Remove = %+v, %v", again, err)
	}
	if _, err := s.Open(a.SHA256); err != nil {
		t.Errorf("Open after storing it again: %v", err)
	}
}
