package sandbox

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestStartWasm(t *testing.T) {
	t.Parallel()
	const mib = 1 << 20
	tests := []struct {
		name   string
		wasm   func(testing.TB) []byte
		spec   Spec // Dir is filled in
		w      WasmSpec
		setup  func(t *testing.T, dir string)
		code   int
		reason Reason
		errHas []string
		check  func(t *testing.T, dir string, r Result)
	}{
		{
			name: "hello prints args and env",
			wasm: goWasm("guest"),
			spec: Spec{Env: map[string]string{"FOO": "bar", "EMPTY": ""}},
			w:    WasmSpec{Name: "guest", Args: []string{"hello", "a b", "c"}},
			check: func(t *testing.T, dir string, r Result) {
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
			name: "only the sandbox directory is visible",
			wasm: goWasm("guest"),
			w:    WasmSpec{Name: "guest", Args: []string{"files", "input.txt", "/input.txt", "../outside", "/etc/passwd"}},
			setup: func(t *testing.T, dir string) {
				write(t, filepath.Join(dir, "input.txt"), "inside")
				write(t, filepath.Join(dir, "..", "outside"), "outside")
			},
			check: func(t *testing.T, dir string, r Result) {
				out := readFile(t, filepath.Join(dir, StdoutFile))
				contains(t, "stdout", out,
					`read input.txt: "inside"`, `read /input.txt: "inside"`,
					"read ../outside: error", "read /etc/passwd: error",
					"symlink: symlink ../../../../../../../../etc escape: Operation not permitted",
					"read escape/passwd: error")
				if got := readFile(t, filepath.Join(dir, "written.txt")); got != "from the guest" {
					t.Errorf("written.txt = %q", got)
				}
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
			check: func(t *testing.T, dir string, r Result) {
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
			errHas: []string{"memory limit of 16 pages", "grow to 17 pages was refused", "unreachable"},
			check: func(t *testing.T, dir string, r Result) {
				if r.Usage.PeakMemoryBytes != mib {
					t.Errorf("peak memory %d, want %d", r.Usage.PeakMemoryBytes, mib)
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
			errHas: []string{"wasm error: unreachable"},
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
			errHas: []string{"stack overflow"},
		},
		{
			name:   "missing import fails the launch",
			wasm:   watWasm("missing_import"),
			code:   -1,
			reason: ReasonLaunchFailed,
			errHas: []string{"imports function env.nope"},
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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := testEngine(t)
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
			checkResult(t, r, tt.code, tt.reason, tt.errHas...)
			if r.Signal != "" {
				t.Errorf("signal %q from a Wasm task", r.Signal)
			}
			if again := p.Wait(); again != r {
				t.Errorf("second Wait = %+v, first %+v", again, r)
			}
			if u := p.Usage(); u != r.Usage {
				t.Errorf("Usage after the end = %+v, Result.Usage %+v", u, r.Usage)
			}
			p.Kill(0) // after the end: does nothing
			if tt.check != nil {
				tt.check(t, dir, r)
			}
		})
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

func TestWasmKill(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		wasm  func(testing.TB) []byte
		args  []string
		ready func(t *testing.T, dir string, p Process) bool // the guest is under way
	}{
		{
			name: "tight loop",
			wasm: watWasm("loop"),
			ready: func(t *testing.T, dir string, p Process) bool {
				return p.Usage().CPUSeconds > 0.05
			},
		},
		{
			name: "sleeping guest",
			wasm: goWasm("guest"),
			args: []string{"sleep"},
			ready: func(t *testing.T, dir string, p Process) bool {
				b, _ := os.ReadFile(filepath.Join(dir, StdoutFile))
				return strings.Contains(string(b), "sleeping")
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := testEngine(t)
			m := compile(t, e, tt.wasm(t))
			dir := sandboxDir(t)
			p, err := e.StartWasm(context.Background(), m, Spec{Dir: dir}, WasmSpec{Name: tt.name, Args: tt.args})
			if err != nil {
				t.Fatal(err)
			}
			eventually(t, "guest under way", func() bool { return tt.ready(t, dir, p) })
			p.Kill(time.Hour) // grace means nothing to a guest
			p.Kill(0)
			r := wait(t, p)
			checkResult(t, r, -1, ReasonKilled, "killed")
			if r.Usage.CPUSeconds <= 0 {
				t.Errorf("usage %+v", r.Usage)
			}
		})
	}
}

func TestCompile(t *testing.T) {
	t.Parallel()
	// The shared engine, so that the Go module is compiled once in the
	// whole run; the other tests compile it at the same time, which is
	// all the better.
	e := testEngine(t)
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
}

func TestCacheDir(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "cache")
	for i := range 2 { // the second engine finds the first's code
		e, err := NewEngine(context.Background(), EngineConfig{CacheDir: dir})
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
		var files int
		filepath.WalkDir(dir, func(_ string, d os.DirEntry, _ error) error {
			if d != nil && !d.IsDir() {
				files++
			}
			return nil
		})
		if files == 0 {
			t.Errorf("engine %d: nothing in the cache directory", i)
		}
	}
}

func TestStartWasmRefuses(t *testing.T) {
	t.Parallel()
	e := newEngine(t, EngineConfig{})
	other := newEngine(t, EngineConfig{})
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
		{"module of another engine", mOther, Spec{Dir: dir}, WasmSpec{}},
		{"nil module", nil, Spec{Dir: dir}, WasmSpec{}},
	}
	for _, tt := range tests {
		if p, err := e.StartWasm(context.Background(), tt.m, tt.spec, tt.w); err == nil {
			t.Errorf("%s: StartWasm = %v, nil; want an error", tt.name, p)
		}
	}
}

func TestEngineClose(t *testing.T) {
	t.Parallel()
	e, err := NewEngine(context.Background(), EngineConfig{})
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

func TestInitialPages(t *testing.T) {
	tests := []struct {
		module string
		pages  uint32
	}{
		{"tiny", 0}, {"bigmem", 100}, {"grow", 1}, {"exit7", 1},
	}
	for _, tt := range tests {
		got, err := initialPages(watModules[tt.module])
		if err != nil || got != tt.pages {
			t.Errorf("initialPages(%s) = %d, %v; want %d", tt.module, got, err, tt.pages)
		}
	}
}

func BenchmarkStartWasm(b *testing.B) {
	e := newEngine(b, EngineConfig{})
	m := compile(b, e, watModules["tiny"])
	spec := Spec{Dir: b.TempDir()}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		p, err := e.StartWasm(ctx, m, spec, WasmSpec{Name: "tiny"})
		if err != nil {
			b.Fatal(err)
		}
		if r := p.Wait(); r.Err != nil {
			b.Fatal(r.Err)
		}
	}
}
