package modules

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// ErrNotFound is returned for a hash the store does not hold.
var ErrNotFound = errors.New("module not found")

// InvalidError is returned by Put for a module that fails validation; the
// HTTP layer answers 400 with its message.
type InvalidError struct{ Err error }

// Error says what is wrong with the module, once: api/module's errors
// begin with "module: " themselves.
func (e *InvalidError) Error() string {
	return "invalid module: " + strings.TrimPrefix(e.Err.Error(), "module: ")
}
func (e *InvalidError) Unwrap() error { return e.Err }

// Module describes one stored module.
type Module struct {
	SHA256  string    `json:"sha256"`
	Size    int64     `json:"size"`
	Created time.Time `json:"created"`
}

// Validator decides whether bytes are an acceptable module. It returns a
// descriptive error for one that is not.
type Validator func(ctx context.Context, wasm []byte) error

// Store keeps modules as files named <sha256>.wasm in one directory.
type Store struct {
	dir      string
	validate Validator

	// files serializes writing and removing files with the index entries
	// that go with them, so that a Put and a Remove of one module leave
	// the file and its entry both there or both gone. Lock order: files,
	// then mu.
	files sync.Mutex

	mu      sync.Mutex
	modules map[string]Module
}

// Open returns a store over dir, creating it and indexing what it holds.
// validate runs on every Put.
func Open(dir string, validate Validator) (*Store, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("open module store: %w", err)
	}
	s := &Store{dir: dir, validate: validate, modules: map[string]Module{}}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("open module store: %w", err)
	}
	for _, e := range entries {
		sha, ok := strings.CutSuffix(e.Name(), ".wasm")
		if !ok || !ValidHash(sha) {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		s.modules[sha] = Module{SHA256: sha, Size: info.Size(), Created: info.ModTime().UTC()}
	}
	return s, nil
}

// ValidHash reports whether s is a lowercase hex sha256.
func ValidHash(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil && strings.ToLower(s) == s
}

// Put validates wasm and stores it, returning its description. Storing the
// same bytes twice is harmless and returns the existing module.
func (s *Store) Put(ctx context.Context, wasm []byte) (Module, error) {
	sum := sha256.Sum256(wasm)
	sha := hex.EncodeToString(sum[:])
	if m, ok := s.Get(sha); ok {
		return m, nil
	}
	if err := s.validate(ctx, wasm); err != nil {
		return Module{}, &InvalidError{Err: err}
	}
	s.files.Lock()
	defer s.files.Unlock()
	if err := writeAtomic(filepath.Join(s.dir, sha+".wasm"), wasm); err != nil {
		return Module{}, fmt.Errorf("store module %s: %w", sha, err)
	}
	m := Module{SHA256: sha, Size: int64(len(wasm)), Created: time.Now().UTC()}
	s.mu.Lock()
	s.modules[sha] = m
	s.mu.Unlock()
	return m, nil
}

// Remove deletes module sha's file, for a module deleted from the
// cluster. Readers that opened the file before keep reading it (the
// name goes, not the open file). Removing a module the store does not
// hold is not an error: every master removes a deleted module, whether
// or not it had copied it.
func (s *Store) Remove(sha string) error {
	if !ValidHash(sha) {
		return fmt.Errorf("remove module %q: not a lowercase hex sha256", sha)
	}
	s.files.Lock()
	defer s.files.Unlock()
	if err := os.Remove(filepath.Join(s.dir, sha+".wasm")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove module %s: %w", sha, err)
	}
	s.mu.Lock()
	delete(s.modules, sha)
	s.mu.Unlock()
	return nil
}

// Get returns the description of a stored module.
func (s *Store) Get(sha string) (Module, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.modules[sha]
	return m, ok
}

// Open returns the module's file for reading; the caller closes it.
func (s *Store) Open(sha string) (*os.File, error) {
	if _, ok := s.Get(sha); !ok {
		return nil, fmt.Errorf("open module %s: %w", sha, ErrNotFound)
	}
	f, err := os.Open(filepath.Join(s.dir, sha+".wasm"))
	if err != nil {
		return nil, fmt.Errorf("open module %s: %w", sha, err)
	}
	return f, nil
}

// List returns every stored module, newest first.
func (s *Store) List() []Module {
	s.mu.Lock()
	out := make([]Module, 0, len(s.modules))
	for _, m := range s.modules {
		out = append(out, m)
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Created.Equal(out[j].Created) {
			return out[i].Created.After(out[j].Created)
		}
		return out[i].SHA256 < out[j].SHA256
	})
	return out
}

// writeAtomic writes data to path through a synced temporary file and a
// rename, so a crash never leaves a truncated module under its hash.
func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".upload-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.ReadFrom(bytes.NewReader(data)); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
