package registry

import (
	"errors"
	"path/filepath"
	"testing"

	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
)

// TestStableStoreClosed checks what raft's heartbeat path meets after the
// registry closed raft.db: a term it saves is dropped (raft would panic on
// an error), a read fails; before, both reach the file.
func TestStableStoreClosed(t *testing.T) {
	logs, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(t.TempDir(), "raft.db")})
	if err != nil {
		t.Fatal(err)
	}
	s := &stableStore{store: logs}
	key := []byte("CurrentTerm")
	if err := s.SetUint64(key, 7); err != nil {
		t.Fatal(err)
	}
	if v, err := s.GetUint64(key); err != nil || v != 7 {
		t.Fatalf("GetUint64 = %d, %v; want 7", v, err)
	}
	s.close()
	if err := logs.Close(); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		call func() error
		want error
	}{
		{"SetUint64", func() error { return s.SetUint64(key, 8) }, nil},
		{"Set", func() error { return s.Set(key, []byte("x")) }, nil},
		{"GetUint64", func() error { _, err := s.GetUint64(key); return err }, errStableClosed},
		{"Get", func() error { _, err := s.Get(key); return err }, errStableClosed},
	} {
		if err := tt.call(); !errors.Is(err, tt.want) {
			t.Errorf("%s after close: %v, want %v", tt.name, err, tt.want)
		}
	}
}
