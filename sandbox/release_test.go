package sandbox

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// freed reports whether m's compiled code has been released, for every
// engine.
func freed(m *Module) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.builds == nil
}

// known reports whether e still hands out m to a Compile of its bytes.
func known(e *Engine, m *Module) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.modules[m.sha]
	return c != nil && c.m == m
}

// TestRelease compiles the Go guest twice (two references to one
// Module), starts a task that waits for a file, and releases both
// references while it waits: the engine forgets the module and refuses
// to start another task from it, but keeps its code, and the task then
// runs to its end; only then is the code freed. A Compile of the same
// bytes afterwards compiles them again, and a module released with no
// task running is freed at once.
func TestRelease(t *testing.T) {
	t.Parallel()
	for _, engine := range Engines() {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			// A cache directory, as executors have, so that compiling
			// again loads the code rather than compiling it.
			e := ownEngine(t, EngineConfig{DefaultEngine: engine, CacheDir: t.TempDir()})
			guest := goModule(t, "guest")
			m := compile(t, e, guest)
			if again := compile(t, e, guest); again != m {
				t.Fatal("a second Compile compiled again")
			}
			dir := sandboxDir(t)
			p, err := e.StartWasm(ctx, m, Spec{Dir: dir}, WasmSpec{Args: []string{"wait", "go"}})
			if err != nil {
				t.Fatal(err)
			}
			eventually(t, "the task prints waiting", func() bool {
				b, _ := os.ReadFile(filepath.Join(dir, StdoutFile))
				return strings.Contains(string(b), "waiting")
			})

			e.Release(m) // one reference left
			if !known(e, m) || freed(m) {
				t.Fatalf("after one of two Releases: known %t, freed %t; want known, not freed", known(e, m), freed(m))
			}
			e.Release(m) // the last
			if known(e, m) {
				t.Error("the engine still hands out a released module")
			}
			if freed(m) {
				t.Fatal("a module was freed while a task runs it")
			}
			if _, err := e.StartWasm(ctx, m, Spec{Dir: sandboxDir(t)}, WasmSpec{Args: []string{"hello"}}); !errors.Is(err, errReleased) {
				t.Errorf("StartWasm of a released module: %v, want errReleased", err)
			}

			write(t, filepath.Join(dir, "go"), "")
			checkResult(t, wait(t, p), 0, ReasonNone)
			if out := readFile(t, filepath.Join(dir, StdoutFile)); out != "waiting\ndone\n" {
				t.Errorf("stdout %q, want waiting then done", out)
			}
			if !freed(m) {
				t.Error("a released module's code outlived its last task")
			}

			m2 := compile(t, e, guest)
			if m2 == m || !known(e, m2) {
				t.Fatalf("Compile after release: the released module again %t, known %t", m2 == m, known(e, m2))
			}
			dir2 := sandboxDir(t)
			p2, err := e.StartWasm(ctx, m2, Spec{Dir: dir2}, WasmSpec{Args: []string{"lines", "again"}})
			if err != nil {
				t.Fatal(err)
			}
			checkResult(t, wait(t, p2), 0, ReasonNone)
			if out := readFile(t, filepath.Join(dir2, StdoutFile)); out != "again\n" {
				t.Errorf("stdout of the module compiled again: %q", out)
			}
			e.Release(m2)
			if known(e, m2) || !freed(m2) {
				t.Errorf("released with no task: known %t, freed %t; want forgotten and freed", known(e, m2), freed(m2))
			}
			e.Release(m2) // one too many: nothing happens
		})
	}
}

// TestReleaseConcurrent hammers Compile, StartWasm and Release of the
// same bytes from many goroutines, on both engines, with tasks on the
// other engine too: each goroutine holds its own reference, so no start
// is refused, and once all are released nothing is kept.
func TestReleaseConcurrent(t *testing.T) {
	t.Parallel()
	for _, engine := range Engines() {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			e := ownEngine(t, EngineConfig{DefaultEngine: engine})
			const workers, rounds = 8, 20
			var (
				mu   sync.Mutex
				seen = map[*Module]bool{}
				wg   sync.WaitGroup
			)
			for w := range workers {
				wg.Go(func() {
					for i := range rounds {
						m, err := e.Compile(ctx, watModules["exit7"])
						if err != nil {
							t.Error(err)
							return
						}
						mu.Lock()
						seen[m] = true
						mu.Unlock()
						on := Engines()[(w+i)%len(Engines())]
						p, err := e.StartWasm(ctx, m, Spec{Dir: sandboxDir(t)}, WasmSpec{Engine: on})
						if err != nil {
							t.Errorf("StartWasm while holding a reference: %v", err)
							e.Release(m)
							return
						}
						if i%2 == 0 { // released while the task runs, or after
							e.Release(m)
							checkResult(t, wait(t, p), 7, ReasonNone)
						} else {
							checkResult(t, wait(t, p), 7, ReasonNone)
							e.Release(m)
						}
					}
				})
			}
			wg.Wait()
			e.mu.Lock()
			left := len(e.modules)
			e.mu.Unlock()
			if left != 0 {
				t.Errorf("%d modules kept after every reference was released", left)
			}
			for m := range seen {
				if !freed(m) {
					t.Errorf("module %p not freed", m)
				}
			}
		})
	}
}
