package sandbox

import (
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api/module"
)

const mib = 1 << 20

// wasmCase is one behaviour of a Wasm task, run on every engine. Where
// the engines legitimately differ, the case says so in byEngine or in
// check, never by skipping an engine.
type wasmCase struct {
	name   string
	wasm   func(testing.TB) []byte
	spec   Spec // Dir is filled in
	w      WasmSpec
	setup  func(t *testing.T, dir string)
	code   int
	reason Reason
	errHas []string // on every engine
	// byEngine adds what the error must also contain on one engine: the
	// engines word traps and memory limits differently.
	byEngine map[string][]string
	// reasonOn overrides reason on one engine.
	reasonOn map[string]Reason
	check    func(t *testing.T, engine, dir string, r Result)
}

var wasmCases = []wasmCase{
	{
		name: "hello prints args and env",
		wasm: goWasm("guest"),
		spec: Spec{Env: map[string]string{"FOO": "bar", "EMPTY": ""}},
		w:    WasmSpec{Name: "guest", Args: []string{"hello", "a b", "c"}},
		check: func(t *testing.T, _, dir string, r Result) {
			out := readFile(t, filepath.Join(dir, StdoutFile))
			want := "arg 0=guest\narg 1=hello\narg 2=a b\narg 3=c\nenv EMPTY=\nenv FOO=bar\ncwd / <nil>\n"
			if out != want {
				t.Errorf("stdout:\n%s\nwant:\n%s", out, want)
			}
			contains(t, "stderr", readFile(t, filepath.Join(dir, StderrFile)), "hello on stderr\n")
			if r.Usage.CPUSeconds <= 0 || r.Usage.PeakMemoryBytes == 0 {
				t.Errorf("usage %+v", r.Usage)
			}
		},
	},
	{
		name:  "output is appended",
		wasm:  goWasm("guest"),
		w:     WasmSpec{Name: "guest", Args: []string{"hello"}},
		setup: func(t *testing.T, dir string) { write(t, filepath.Join(dir, StdoutFile), "before\n") },
		check: func(t *testing.T, _, dir string, _ Result) {
			if out := readFile(t, filepath.Join(dir, StdoutFile)); !strings.HasPrefix(out, "before\narg 0=guest\n") {
				t.Errorf("stdout:\n%s", out)
			}
		},
	},
	{
		name: "exit code propagates",
		wasm: goWasm("guest"),
		spec: Spec{Env: map[string]string{"EXIT_CODE": "3"}},
		w:    WasmSpec{Args: []string{"hello"}},
		code: 3,
	},
	{
		name: "proc_exit code propagates",
		wasm: watWasm("exit7"),
		code: 7,
	},
	{
		// wasmtime's own proc_exit traps with "invalid exit status" at
		// 126 and above; the code is the guest's all the same.
		name: "a proc_exit code past 125 propagates",
		wasm: watWasm("exit200"),
		code: 200,
	},
	{
		// Guest addresses are unsigned: wasmtime's own poll_oneoff took
		// them for int32s and answered EFAULT (21) past 2 GiB.
		name: "a sleep with its subscription past 2 GiB",
		wasm: watWasm("poll2g"),
		code: 0,
	},
	{
		name: "a sleep ends",
		wasm: goWasm("guest"),
		w:    WasmSpec{Args: []string{"sleep", "10ms"}},
		check: func(t *testing.T, _, dir string, _ Result) {
			contains(t, "stdout", readFile(t, filepath.Join(dir, StdoutFile)), "sleeping\nwoke\n")
		},
	},
	{
		name: "only the sandbox directory is visible",
		wasm: goWasm("guest"),
		w:    WasmSpec{Name: "guest", Args: []string{"files", "input.txt", "/input.txt", "../outside", "/etc/passwd"}},
		setup: func(t *testing.T, dir string) {
			write(t, filepath.Join(dir, "input.txt"), "inside")
			write(t, filepath.Join(dir, "..", "outside"), "outside")
		},
		check: func(t *testing.T, _, dir string, r Result) {
			out := readFile(t, filepath.Join(dir, StdoutFile))
			contains(t, "stdout", out,
				`read input.txt: "inside"`, `read /input.txt: "inside"`,
				"read ../outside: error", "read /etc/passwd: error",
				"symlink: symlink ../../../../../../../../etc escape: Operation not permitted",
				"read escape/passwd: error")
			if got := readFile(t, filepath.Join(dir, "written.txt")); got != "from the guest" {
				t.Errorf("written.txt = %q", got)
			}
			if _, err := os.Lstat(filepath.Join(dir, "escape")); err == nil {
				t.Error("the guest created a symbolic link")
			}
		},
	},
	{
		// wazero follows a link someone else left in the sandbox
		// directory wherever it leads; wasmtime (cap-std) refuses one
		// that leads out. Whoever fills the directory must not leave one.
		name: "a link already in the sandbox directory",
		wasm: goWasm("guest"),
		w:    WasmSpec{Name: "guest", Args: []string{"files", "out"}},
		setup: func(t *testing.T, dir string) {
			write(t, filepath.Join(dir, "..", "outside"), "outside")
			if err := os.Symlink("../outside", filepath.Join(dir, "out")); err != nil {
				t.Fatal(err)
			}
		},
		check: func(t *testing.T, engine, dir string, _ Result) {
			want := map[string]string{Wazero: `read out: "outside"`, Wasmtime: "read out: error"}[engine]
			contains(t, "stdout", readFile(t, filepath.Join(dir, StdoutFile)), want)
		},
	},
	{
		name:   "Go guest stops at the memory limit",
		wasm:   goWasm("guest"),
		spec:   Spec{MemoryBytes: 64 * mib},
		w:      WasmSpec{Args: []string{"hog"}},
		code:   2,
		reason: ReasonMemoryLimit,
		errHas: []string{"memory limit of 1024 pages", "exited with code 2"},
		check: func(t *testing.T, _, dir string, r Result) {
			contains(t, "stderr", readFile(t, filepath.Join(dir, StderrFile)), "out of memory")
			if p := r.Usage.PeakMemoryBytes; p > 64*mib || p < 32*mib {
				t.Errorf("peak memory %d bytes, want near the limit of %d", p, 64*mib)
			}
		},
	},
	{
		name:   "grow loop stops at the memory limit",
		wasm:   watWasm("grow"),
		spec:   Spec{MemoryBytes: mib + 1000}, // rounds down to 16 pages
		code:   -1,
		reason: ReasonMemoryLimit,
		errHas: []string{"memory limit of 16 pages", "unreachable"},
		byEngine: map[string][]string{
			Wazero:   {"a grow to 17 pages was refused"},
			Wasmtime: {"it ended at 16 pages"},
		},
		check: func(t *testing.T, _, dir string, r Result) {
			if r.Usage.PeakMemoryBytes != mib {
				t.Errorf("peak memory %d, want %d", r.Usage.PeakMemoryBytes, mib)
			}
		},
	},
	{
		// wasmtime does not report refused grows; its memory limit is
		// inferred from how close to the limit the memory ended (see
		// nearLimit), and 48 MiB of 64 is not close enough.
		name:     "large grows stop short of the memory limit",
		wasm:     watWasm("growsteps"),
		spec:     Spec{MemoryBytes: 64 * mib},
		code:     -1,
		reason:   ReasonMemoryLimit,
		reasonOn: map[string]Reason{Wasmtime: ReasonTrap},
		errHas:   []string{"unreachable"},
		byEngine: map[string][]string{Wazero: {"a grow to 1025 pages was refused"}},
		check: func(t *testing.T, _, _ string, r Result) {
			if r.Usage.PeakMemoryBytes != 769*pageSize {
				t.Errorf("peak memory %d, want %d", r.Usage.PeakMemoryBytes, 769*pageSize)
			}
		},
	},
	{
		name: "less than a page means one page",
		wasm: watWasm("tiny"),
		spec: Spec{MemoryBytes: 1},
	},
	{
		name:   "initial memory over the limit",
		wasm:   watWasm("bigmem"),
		spec:   Spec{MemoryBytes: mib},
		code:   -1,
		reason: ReasonMemoryLimit,
		errHas: []string{"initial memory of 100 pages exceeds the limit of 16 pages"},
	},
	{
		name: "initial memory under the limit",
		wasm: watWasm("bigmem"),
		spec: Spec{MemoryBytes: 100 * 65536},
	},
	{
		name:   "unreachable traps",
		wasm:   watWasm("unreachable"),
		code:   -1,
		reason: ReasonTrap,
		errHas: []string{"trapped", "unreachable"},
	},
	{
		name:   "out of bounds access traps",
		wasm:   watWasm("oob"),
		code:   -1,
		reason: ReasonTrap,
		errHas: []string{"out of bounds memory access"},
	},
	{
		name:   "stack overflow traps",
		wasm:   watWasm("recurse"),
		code:   -1,
		reason: ReasonTrap,
		errHas: []string{"call stack exhausted"},
	},
	{
		name:   "missing import fails the launch",
		wasm:   watWasm("missing_import"),
		code:   -1,
		reason: ReasonLaunchFailed,
		errHas: []string{"imports what the host does not provide: function env.nope"},
	},
	{
		name:   "imported memory fails the launch",
		wasm:   watWasm("import_memory"),
		code:   -1,
		reason: ReasonLaunchFailed,
		errHas: []string{"does not provide: memory env.memory"},
	},
	{
		name:     "WASI import of the wrong type fails the launch",
		wasm:     watWasm("import_type"),
		code:     -1,
		reason:   ReasonLaunchFailed,
		errHas:   []string{"instantiate", "fd_write"},
		byEngine: map[string][]string{Wazero: {"signature mismatch"}, Wasmtime: {"incompatible import type"}},
	},
	{
		name:   "missing entry point fails the launch",
		wasm:   watWasm("tiny"),
		w:      WasmSpec{Entrypoint: "main"},
		code:   -1,
		reason: ReasonLaunchFailed,
		errHas: []string{`no exported function "main"`},
	},
	{
		name:   "entry point with a parameter fails the launch",
		wasm:   watWasm("tiny"),
		w:      WasmSpec{Entrypoint: "with_param"},
		code:   -1,
		reason: ReasonLaunchFailed,
		errHas: []string{`entry point "with_param" takes parameters`},
	},
	{
		name: "a budget that suffices",
		wasm: watWasm("exit7"),
		spec: Spec{CPUTime: time.Minute},
		code: 7,
	},
}

func TestStartWasm(t *testing.T) {
	t.Parallel()
	for _, engine := range Engines() {
		for _, tt := range wasmCases {
			t.Run(engine+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				e := testEngine(t, engine)
				m := compile(t, e, tt.wasm(t))
				dir := sandboxDir(t)
				if tt.setup != nil {
					tt.setup(t, dir)
				}
				spec := tt.spec
				spec.Dir = dir
				p, err := e.StartWasm(context.Background(), m, spec, tt.w)
				if err != nil {
					t.Fatal(err)
				}
				r := wait(t, p)
				t.Logf("%+v", r)
				reason, ok := tt.reasonOn[engine]
				if !ok {
					reason = tt.reason
				}
				checkResult(t, r, tt.code, reason, append(tt.errHas, tt.byEngine[engine]...)...)
				if r.Signal != 0 {
					t.Errorf("signal %v from a Wasm task", r.Signal)
				}
				if again := p.Wait(); again != r {
					t.Errorf("second Wait = %+v, first %+v", again, r)
				}
				if u := p.Usage(); u != r.Usage {
					t.Errorf("Usage after the end = %+v, Result.Usage %+v", u, r.Usage)
				}
				p.Kill(0) // after the end: does nothing
				if tt.check != nil {
					tt.check(t, engine, dir, r)
				}
			})
		}
	}
}

func goWasm(name string) func(testing.TB) []byte {
	return func(t testing.TB) []byte { return goModule(t, name) }
}

func watWasm(name string) func(testing.TB) []byte {
	return func(testing.TB) []byte { return watModules[name] }
}

func write(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCompile(t *testing.T) {
	t.Parallel()
	for _, engine := range Engines() {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			// The shared engine, so that the Go module is compiled once
			// in the whole run; the other tests compile it at the same
			// time, which is all the better.
			e := testEngine(t, engine)
			guest := goModule(t, "guest")

			// Concurrent callers with the same bytes share one compilation.
			const n = 8
			var wg sync.WaitGroup
			modules := make([]*Module, n)
			for i := range n {
				wg.Go(func() {
					m, err := e.Compile(context.Background(), guest)
					if err != nil {
						t.Error(err)
					}
					modules[i] = m
				})
			}
			wg.Wait()
			for _, m := range modules {
				if m != modules[0] {
					t.Fatalf("Compile returned different modules for the same bytes: %p and %p", m, modules[0])
				}
			}
			if again := compile(t, e, guest); again != modules[0] {
				t.Errorf("a later Compile compiled again")
			}
			if sha := modules[0].SHA256(); len(sha) != 64 {
				t.Errorf("SHA256() = %q", sha)
			}

			broken := []struct {
				name, wasm, errHas string
			}{
				{"empty", "", "invalid magic number"},
				{"not wasm", "#!/bin/sh\necho\n", "invalid magic number"},
				{"truncated", string(watModules["tiny"][:20]), "compile module"},
				{"invalid code", string(watModules["unreachable"][:len(watModules["unreachable"])-3]) + "\x01\x0b\x0b", "compile module"},
			}
			for _, tt := range broken {
				_, err := e.Compile(context.Background(), []byte(tt.wasm))
				if err == nil || !strings.Contains(err.Error(), tt.errHas) {
					t.Errorf("%s: Compile error %v, want one containing %q", tt.name, err, tt.errHas)
				}
			}

			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			if _, err := e.Compile(ctx, append(guest, 0)); !errors.Is(err, context.Canceled) {
				t.Errorf("Compile with a cancelled context: %v", err)
			}
		})
	}
}

func TestModuleLimits(t *testing.T) {
	t.Parallel()
	e := ownEngine(t, EngineConfig{ModuleLimits: module.Limits{MaxFunctions: 1}})
	_, err := e.Compile(context.Background(), watModules["tiny"]) // two functions
	var lim *module.LimitError
	if !errors.As(err, &lim) || lim.Limit != "MaxFunctions" {
		t.Errorf("Compile error %v, want a LimitError for MaxFunctions", err)
	}
	compile(t, e, watModules["loop"]) // one function
}

func TestPerTaskEngine(t *testing.T) {
	t.Parallel()
	for _, def := range Engines() {
		e := ownEngine(t, EngineConfig{DefaultEngine: def})
		m := compile(t, e, watModules["exit7"])
		for _, engine := range append(Engines(), "") {
			p, err := e.StartWasm(context.Background(), m, Spec{Dir: sandboxDir(t)}, WasmSpec{Engine: engine})
			if err != nil {
				t.Fatalf("default %s, task on %q: %v", def, engine, err)
			}
			checkResult(t, wait(t, p), 7, ReasonNone)
		}
	}
}

func TestNewEngine(t *testing.T) {
	t.Parallel()
	if _, err := NewEngine(context.Background(), EngineConfig{DefaultEngine: "v8"}); err == nil || !strings.Contains(err.Error(), `unknown engine "v8"`) {
		t.Errorf("NewEngine with an unknown engine: %v", err)
	}
	_, err := NewEngine(context.Background(), EngineConfig{DefaultEngine: Wasmtime})
	if wasmtimeAvailable {
		if err != nil {
			t.Error(err)
		}
	} else if !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("NewEngine with wasmtime and no cgo: %v, want ErrUnsupported", err)
	}
	if got := Engines(); got[len(got)-1] != Wazero {
		t.Errorf("Engines() = %v", got)
	}
}

func TestCacheDir(t *testing.T) {
	t.Parallel()
	for _, engine := range Engines() {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "cache")
			var files map[string]time.Time
			for i := range 2 { // the second engine finds the first's code
				e, err := NewEngine(context.Background(), EngineConfig{CacheDir: dir, DefaultEngine: engine})
				if err != nil {
					t.Fatal(err)
				}
				m := compile(t, e, watModules["exit7"])
				p, err := e.StartWasm(context.Background(), m, Spec{Dir: sandboxDir(t)}, WasmSpec{})
				if err != nil {
					t.Fatal(err)
				}
				checkResult(t, wait(t, p), 7, ReasonNone)
				if err := e.Close(context.Background()); err != nil {
					t.Fatal(err)
				}
				found := cacheFiles(t, dir, engine)
				if len(found) == 0 {
					t.Errorf("engine %d: nothing in the cache directory", i)
				}
				if i == 1 && engine == Wasmtime {
					for f, mod := range found {
						if files[f] != mod {
							t.Errorf("%s was written again: the second engine compiled again", f)
						}
					}
				}
				files = found
			}
		})
	}
}

// TestCacheCorrupt spoils every entry an engine left in its cache
// directory, as a torn write or a bad disk would, and starts another
// engine on it: the module is compiled again and runs, and the entries
// are replaced. Before, wasmtime loaded spoilt machine code and the test
// binary died of SIGTRAP, and wazero refused to compile the module at
// all ("compilationcache: checksum mismatch") for as long as the entry
// stayed.
func TestCacheCorrupt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		only  string // the one engine whose entries this spoils, if any
		spoil func(t *testing.T, b []byte) []byte
	}{
		{"a byte flipped in the middle", "", func(t *testing.T, b []byte) []byte {
			b[len(b)/2] ^= 0xff
			return b
		}},
		{"truncated", "", func(t *testing.T, b []byte) []byte { return b[:len(b)-20] }},
		{"machine code overwritten with breakpoints", Wasmtime, overwriteText},
	}
	for _, engine := range Engines() {
		for _, tt := range tests {
			if tt.only != "" && tt.only != engine {
				continue
			}
			t.Run(engine+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				dir := filepath.Join(t.TempDir(), "cache")
				cfg := EngineConfig{CacheDir: dir, DefaultEngine: engine}
				compile(t, ownEngine(t, cfg), watModules["exit7"])
				spoilt := make(map[string][]byte)
				for path := range cacheFiles(t, dir, engine) {
					if strings.HasSuffix(path, cacheSumSuffix) {
						continue // the code is spoilt, not its sum
					}
					b := tt.spoil(t, []byte(readFile(t, path)))
					if err := os.WriteFile(path, b, 0o600); err != nil {
						t.Fatal(err)
					}
					spoilt[path] = b
				}
				if len(spoilt) == 0 {
					t.Fatal("nothing in the cache directory")
				}
				e := ownEngine(t, cfg)
				p, err := e.StartWasm(context.Background(), compile(t, e, watModules["exit7"]), Spec{Dir: sandboxDir(t)}, WasmSpec{})
				if err != nil {
					t.Fatal(err)
				}
				checkResult(t, wait(t, p), 7, ReasonNone)
				for path, b := range spoilt {
					if now, err := os.ReadFile(path); err != nil || bytes.Equal(now, b) {
						t.Errorf("%s was not replaced (%v)", path, err)
					}
				}
			})
		}
	}
}

// overwriteText fills the machine code of the ELF object in b, a
// wasmtime cache entry, with x86's breakpoint instruction: wasmtime's
// checks of serialized code accept it.
func overwriteText(t *testing.T, b []byte) []byte {
	start := bytes.Index(b, []byte("\x7fELF"))
	if start < 0 {
		t.Fatal("no ELF object in the cache entry")
	}
	f, err := elf.NewFile(bytes.NewReader(b[start:]))
	if err != nil {
		t.Fatal(err)
	}
	text := f.Section(".text")
	if text == nil || text.Size == 0 {
		t.Fatal("no .text section in the cache entry")
	}
	off := start + int(text.Offset)
	copy(b[off:off+int(text.Size)], bytes.Repeat([]byte{0xcc}, int(text.Size)))
	return b
}

// cacheFiles returns the files an engine left in a cache directory, with
// their modification times.
func cacheFiles(t *testing.T, dir, engine string) map[string]time.Time {
	t.Helper()
	files := make(map[string]time.Time)
	filepath.WalkDir(dir, func(path string, d os.DirEntry, _ error) error {
		if d == nil || d.IsDir() || !strings.Contains(path, engine) {
			return nil
		}
		if fi, err := d.Info(); err == nil {
			files[path] = fi.ModTime()
		}
		return nil
	})
	return files
}

func TestStartWasmRefuses(t *testing.T) {
	t.Parallel()
	e := ownEngine(t, EngineConfig{})
	other := ownEngine(t, EngineConfig{})
	m := compile(t, e, watModules["tiny"])
	mOther := compile(t, other, watModules["tiny"])
	dir := sandboxDir(t)
	tests := []struct {
		name string
		m    *Module
		spec Spec
		w    WasmSpec
	}{
		{"no directory", m, Spec{}, WasmSpec{}},
		{"missing directory", m, Spec{Dir: filepath.Join(dir, "nope")}, WasmSpec{}},
		{"bad env name", m, Spec{Dir: dir, Env: map[string]string{"A=B": "c"}}, WasmSpec{}},
		{"NUL in an argument", m, Spec{Dir: dir}, WasmSpec{Args: []string{"a\x00"}}},
		{"an argument that is not UTF-8", m, Spec{Dir: dir}, WasmSpec{Args: []string{"\xff"}}},
		{"an environment value that is not UTF-8", m, Spec{Dir: dir, Env: map[string]string{"A": "\xff"}}, WasmSpec{}},
		{"negative CPU time", m, Spec{Dir: dir, CPUTime: -1}, WasmSpec{}},
		{"unknown engine", m, Spec{Dir: dir}, WasmSpec{Engine: "v8"}},
		{"module of another engine", mOther, Spec{Dir: dir}, WasmSpec{}},
		{"nil module", nil, Spec{Dir: dir}, WasmSpec{}},
	}
	for _, tt := range tests {
		if p, err := e.StartWasm(context.Background(), tt.m, tt.spec, tt.w); err == nil {
			t.Errorf("%s: StartWasm = %v, nil; want an error", tt.name, p)
		}
	}
	if !wasmtimeAvailable {
		_, err := e.StartWasm(context.Background(), m, Spec{Dir: dir}, WasmSpec{Engine: Wasmtime})
		if !errors.Is(err, errors.ErrUnsupported) {
			t.Errorf("StartWasm on wasmtime without cgo: %v, want ErrUnsupported", err)
		}
	}
}

func TestEngineClose(t *testing.T) {
	t.Parallel()
	for _, engine := range Engines() {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			e, err := NewEngine(context.Background(), EngineConfig{DefaultEngine: engine})
			if err != nil {
				t.Fatal(err)
			}
			m := compile(t, e, watModules["loop"])
			p, err := e.StartWasm(context.Background(), m, Spec{Dir: sandboxDir(t)}, WasmSpec{})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), deadline)
			defer cancel()
			if err := e.Close(ctx); err != nil {
				t.Fatal(err)
			}
			checkResult(t, wait(t, p), -1, ReasonKilled)
			if err := e.Close(ctx); err != nil {
				t.Errorf("second Close: %v", err)
			}
			if _, err := e.Compile(ctx, watModules["tiny"]); err == nil {
				t.Error("Compile after Close succeeded")
			}
			if _, err := e.StartWasm(ctx, m, Spec{Dir: sandboxDir(t)}, WasmSpec{}); err == nil {
				t.Error("StartWasm after Close succeeded")
			}
		})
	}
}

func TestLimitPages(t *testing.T) {
	tests := []struct {
		bytes uint64
		pages uint32
	}{
		{0, 65536}, {1, 1}, {65535, 1}, {65536, 1}, {65537, 1}, {131072, 2},
		{1 << 32, 65536}, {1 << 40, 65536},
	}
	for _, tt := range tests {
		if got := limitPages(tt.bytes); got != tt.pages {
			t.Errorf("limitPages(%d) = %d, want %d", tt.bytes, got, tt.pages)
		}
	}
}

func TestExportMemory(t *testing.T) {
	// A memory and nothing else: no export section.
	memoryOnly := []byte{0, 'a', 's', 'm', 1, 0, 0, 0, 5, 3, 1, 0, 1}
	tests := []struct {
		name    string
		wasm    []byte
		export  string
		changed bool
	}{
		{"no memory", watModules["tiny"], "", false},
		{"exported already", watModules["exit7"], "memory", false},
		{"not exported", watModules["grow"], "memory", true},
		{"no export section", memoryOnly, "memory", true},
		{"imported", watModules["import_memory"], "", false},
	}
	for _, tt := range tests {
		info, err := module.Validate(tt.wasm, module.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		got, name, err := exportMemory(tt.wasm, info)
		if err != nil || name != tt.export || (string(got) != string(tt.wasm)) != tt.changed {
			t.Errorf("%s: exportMemory = %d bytes, %q, %v", tt.name, len(got), name, err)
			continue
		}
		after, err := module.Validate(got, module.Limits{})
		if err != nil {
			t.Errorf("%s: the rewritten module is invalid: %v", tt.name, err)
			continue
		}
		if e, ok := after.Export(tt.export); tt.export != "" && (!ok || e.Kind != module.KindMemory || e.Index != 0) {
			t.Errorf("%s: export %q = %+v", tt.name, tt.export, e)
		}
		added := 0
		if tt.changed {
			added = 1
		}
		if len(after.Exports) != len(info.Exports)+added {
			t.Errorf("%s: exports %v, before %v", tt.name, after.Exports, info.Exports)
		}
	}
}

func TestNearLimit(t *testing.T) {
	tests := []struct {
		size, limit uint64
		near        bool
	}{
		{mib, mib, true},
		{mib - pageSize, mib, false}, // a page short of a 16-page limit
		{63 * mib, 64 * mib, true},   // a Go guest stops a few pages short
		{48 * mib, 64 * mib, false},
		{4<<30 - 20*mib, 4 << 30, false}, // at most 16 MiB below
		{4<<30 - 10*mib, 4 << 30, true},
	}
	for _, tt := range tests {
		if got := nearLimit(tt.size, tt.limit); got != tt.near {
			t.Errorf("nearLimit(%d, %d) = %v", tt.size, tt.limit, got)
		}
	}
}
