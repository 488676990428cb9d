package executor

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/mezzo-cluster/mezzo/sandbox"
)

// tinyWasm is sandbox/testdata/tiny.wat: an entry point that returns at
// once.
var tinyWasm = []byte{
	0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x60,
	0x00, 0x00, 0x60, 0x01, 0x7f, 0x00, 0x03, 0x03, 0x02, 0x00, 0x01, 0x07,
	0x17, 0x02, 0x06, 0x5f, 0x73, 0x74, 0x61, 0x72, 0x74, 0x00, 0x00, 0x0a,
	0x77, 0x69, 0x74, 0x68, 0x5f, 0x70, 0x61, 0x72, 0x61, 0x6d, 0x00, 0x01,
	0x0a, 0x07, 0x02, 0x02, 0x00, 0x0b, 0x02, 0x00, 0x0b,
}

// TestModulesAfterClose compiles a module, closes the executor's
// modules, and asks again: for the module compiled before close and for
// one never compiled, get fails with errModulesClosed, hands out no
// module compiled on the closed engine, and starts no engine.
func TestModulesAfterClose(t *testing.T) {
	dir := t.TempDir()
	other := append(slices.Clone(tinyWasm), 0x00, 0x03, 0x01, 'x', 0) // a custom section "x": another hash
	shaOf := func(b []byte) string {
		sum := sha256.Sum256(b)
		return hex.EncodeToString(sum[:])
	}
	for _, b := range [][]byte{tinyWasm, other} {
		if err := os.WriteFile(filepath.Join(dir, shaOf(b)+".wasm"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m := newModules(dir, "", sandbox.Wazero, false)
	ctx := context.Background()
	engine, mod, err := m.get(ctx, shaOf(tinyWasm))
	if err != nil || engine == nil || mod == nil {
		t.Fatalf("get before close: engine %t, module %t, err %v", engine != nil, mod != nil, err)
	}
	m.close()
	// The module never compiled compiles, on modules not closed.
	fresh := newModules(dir, "", sandbox.Wazero, false)
	if _, _, err := fresh.get(ctx, shaOf(other)); err != nil {
		t.Fatal(err)
	}
	fresh.close()

	tests := []struct {
		name string
		sha  string
	}{
		{name: "compiled before close", sha: shaOf(tinyWasm)},
		{name: "never compiled", sha: shaOf(other)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, mod, err := m.get(ctx, tt.sha)
			if !errors.Is(err, errModulesClosed) || e != nil || mod != nil {
				t.Errorf("get after close: engine %t, module %t, err %v; want errModulesClosed", e != nil, mod != nil, err)
			}
			if m.compiledAlready(tt.sha) {
				t.Error("compiledAlready after close")
			}
			m.mu.Lock()
			defer m.mu.Unlock()
			if m.engine != nil || len(m.compiled) != 0 {
				t.Errorf("after close: engine %t, %d modules compiled; want none", m.engine != nil, len(m.compiled))
			}
		})
	}
}
