package executor

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/sandbox"
	sdk "github.com/mezzo-cluster/mezzo/sdk/executor"
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

// withSection returns tinyWasm with a custom section "x" carrying n
// bytes of tag: another module, of another size.
func withSection(tag byte, n int) []byte {
	payload := append([]byte{1, 'x'}, bytes.Repeat([]byte{tag}, n)...)
	b := append(slices.Clone(tinyWasm), 0)
	for v := uint32(len(payload)); ; v >>= 7 { // the section's size, LEB128
		if v < 0x80 {
			b = append(b, byte(v))
			break
		}
		b = append(b, byte(v)|0x80)
	}
	return append(b, payload...)
}

// writeModule puts wasm in dir as the agent would, and returns its hash.
func writeModule(t *testing.T, dir string, wasm []byte) string {
	t.Helper()
	sum := sha256.Sum256(wasm)
	sha := hex.EncodeToString(sum[:])
	if err := os.WriteFile(filepath.Join(dir, sha+".wasm"), wasm, 0o644); err != nil {
		t.Fatal(err)
	}
	return sha
}

// runTask runs a task of the module sha to its end as the executor does:
// get, start, wait, put. It returns the module it ran.
func runTask(t *testing.T, m *modules, sha string) *sandbox.Module {
	t.Helper()
	engine, mod, err := m.get(context.Background(), sha)
	if err != nil {
		t.Fatal(err)
	}
	defer m.put(sha)
	p, err := engine.StartWasm(context.Background(), mod, sandbox.Spec{Dir: t.TempDir()}, sandbox.WasmSpec{})
	if err != nil {
		t.Fatal(err)
	}
	if r := p.Wait(); r.Err != nil || r.ExitCode != 0 {
		t.Fatalf("task of %s: exit code %d, %v", sha, r.ExitCode, r.Err)
	}
	return mod
}

// TestModulesKeepFewIdle runs one task after another of distinct
// modules, each ending before the next starts, and checks that once a
// module's last task has ended it is kept only among the idleModules,
// idleModuleBytes most recently idle, and that the engine has released
// the others (it refuses to start them); a module a task still holds is
// kept whatever the others do.
func TestModulesKeepFewIdle(t *testing.T) {
	const big = 3 << 20 // three of these are over idleModuleBytes
	tests := []struct {
		name  string
		sizes []int // of each module's custom section, in the order run
		kept  int   // the last ones run
	}{
		{name: "one", sizes: []int{1}, kept: 1},
		{name: "small ones: idleModules kept", sizes: []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, kept: idleModules},
		{name: "large ones: idleModuleBytes kept", sizes: []int{big, big, big, big}, kept: 2},
		{name: "a small one after large ones", sizes: []int{big, big, big, 1}, kept: 3},
		{name: "one over idleModuleBytes: none kept", sizes: []int{idleModuleBytes + 1}, kept: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			m := newModules(dir, "", sandbox.Wazero, false)
			defer m.close()
			held := writeModule(t, dir, withSection(0xff, 1))
			engine, heldMod, err := m.get(context.Background(), held) // a task that runs throughout
			if err != nil {
				t.Fatal(err)
			}
			var ran []*sandbox.Module
			for i, n := range tt.sizes {
				ran = append(ran, runTask(t, m, writeModule(t, dir, withSection(byte(i), n))))
			}

			m.mu.Lock()
			compiled, idle := len(m.compiled), len(m.idle)
			m.mu.Unlock()
			if compiled != tt.kept+1 || idle != tt.kept {
				t.Errorf("%d modules compiled, %d idle; want %d idle and the one held", compiled, idle, tt.kept)
			}
			if !m.compiledAlready(held) {
				t.Error("the module a task holds was released")
			}
			for i, mod := range ran {
				_, err := engine.StartWasm(context.Background(), mod, sandbox.Spec{Dir: t.TempDir()}, sandbox.WasmSpec{})
				if kept := i >= len(ran)-tt.kept; kept != (err == nil) {
					t.Errorf("module %d of %d: kept %t, but StartWasm: %v", i+1, len(ran), kept, err)
				}
			}
			if _, err := engine.StartWasm(context.Background(), heldMod, sandbox.Spec{Dir: t.TempDir()}, sandbox.WasmSpec{}); err != nil {
				t.Errorf("StartWasm of the module held: %v", err)
			}
		})
	}
}

// TestModulesReuseIdle runs a task of an idle module again: it starts
// from the module kept, not compiled again, and counts as idle most
// recently once it ends, so that the idle modules released next are the
// others.
func TestModulesReuseIdle(t *testing.T) {
	dir := t.TempDir()
	m := newModules(dir, "", sandbox.Wazero, false)
	defer m.close()
	var shas []string
	for i := range idleModules {
		shas = append(shas, writeModule(t, dir, withSection(byte(i), 1)))
	}
	first := runTask(t, m, shas[0])
	for _, sha := range shas[1:] {
		runTask(t, m, sha)
	}
	if again := runTask(t, m, shas[0]); again != first {
		t.Error("an idle module was compiled again")
	}
	runTask(t, m, writeModule(t, dir, withSection(0xee, 1))) // one more than idleModules idle
	if !m.compiledAlready(shas[0]) || m.compiledAlready(shas[1]) {
		t.Errorf("after a reuse of the first: first kept %t, second kept %t; want the second released",
			m.compiledAlready(shas[0]), m.compiledAlready(shas[1]))
	}
}

// TestExecutorReleasesModules launches tasks of many distinct modules on
// a shared executor, one batch at a time, and checks that once they have
// all ended the executor keeps at most idleModules of them compiled, none
// held by a task: each task's end gives its module back. The executor
// has no agent; its status updates wait in its client.
func TestExecutorReleasesModules(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{
		Client:     sdk.Config{AgentEndpoint: "127.0.0.1:1", FrameworkID: "fw-1", ExecutorID: "ex-1", Sandbox: t.TempDir()},
		ModulesDir: dir, WasmEngine: sandbox.Wazero, Shared: true,
		Logger: slog.New(slog.DiscardHandler),
	}.withDefaults()
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	x := &executor{cfg: cfg, client: sdk.New(cfg.Client), log: cfg.Logger, ctx: ctx, cancel: cancel,
		modules: newModules(dir, "", sandbox.Wazero, false), tasks: map[string]*task{}, seen: map[string]bool{}, sandboxUsed: true}
	defer x.modules.close()

	const batches, perBatch = 3, 4 // 12 distinct modules
	for b := range batches {
		var infos []api.TaskInfo
		for i := range perBatch {
			id := fmt.Sprintf("t%d-%d", b, i)
			sha := writeModule(t, dir, withSection(byte(b*perBatch+i), 1))
			infos = append(infos, api.TaskInfo{Name: id, TaskID: api.TaskID{Value: id}, AgentID: api.AgentID{Value: "agent-1"},
				Container: &api.ContainerInfo{Type: api.ContainerWasm, Wasm: &api.WasmInfo{SHA256: sha}}})
		}
		x.launch(infos, false, nil)
		x.wg.Wait()
	}

	_, updates := x.client.Unacknowledged()
	if want := batches * perBatch * 3; len(updates) != want { // STARTING, RUNNING, FINISHED
		t.Errorf("%d updates, want %d", len(updates), want)
	}
	for _, u := range updates {
		if s := u.Status; s.State == api.TaskFailed {
			t.Errorf("task %s failed: %s", s.TaskID.Value, s.Message)
		}
	}
	x.modules.mu.Lock()
	defer x.modules.mu.Unlock()
	if n := len(x.modules.compiled); n > idleModules {
		t.Errorf("%d modules kept after every task ended, want at most %d", n, idleModules)
	}
	for sha, c := range x.modules.compiled {
		if c.tasks != 0 {
			t.Errorf("module %s: %d tasks after every task ended", sha, c.tasks)
		}
	}
}
