package sandbox

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// goModules are the Go programs under testdata/modules, built for
// GOOS=wasip1 once per test binary run.
var goModules = []string{"guest"}

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error

	enginesMu sync.Mutex
	engines   = make(map[string]*Engine) // shared, by default engine
)

func TestMain(m *testing.M) {
	if IsInit(os.Args) { // native tasks under rlimits start as this binary
		Init(os.Args, os.Environ())
	}
	code := m.Run()
	for name, e := range engines {
		if err := e.Close(context.Background()); err != nil {
			fmt.Fprintf(os.Stderr, "close %s engine: %v\n", name, err)
			code = 1
		}
	}
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// goModule returns the wasip1 binary of testdata/modules/<name>. The first
// call builds them all, which takes about ten seconds when the Go build
// cache has no wasip1 standard library yet.
func goModule(t testing.TB, name string) []byte {
	t.Helper()
	buildOnce.Do(func() {
		if buildDir, buildErr = os.MkdirTemp("", "sandbox-modules-"); buildErr != nil {
			return
		}
		args := []string{"build", "-o", buildDir + string(os.PathSeparator)}
		for _, m := range goModules {
			args = append(args, "./testdata/modules/"+m)
		}
		cmd := exec.Command(goTool(), args...)
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	b, err := os.ReadFile(filepath.Join(buildDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func goTool() string {
	if p := filepath.Join(runtime.GOROOT(), "bin", "go"); fileExists(p) {
		return p
	}
	return "go"
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// testEngine returns an engine whose default is the engine called name,
// shared by the tests of this run so that each Go module is compiled once
// per engine; TestMain closes it.
func testEngine(t testing.TB, name string) *Engine {
	t.Helper()
	enginesMu.Lock()
	defer enginesMu.Unlock()
	e, ok := engines[name]
	if !ok {
		var err error
		if e, err = NewEngine(context.Background(), EngineConfig{DefaultEngine: name}); err != nil {
			t.Fatal(err)
		}
		engines[name] = e
	}
	return e
}

// ownEngine returns an engine of the test's own, closed at its end.
func ownEngine(t testing.TB, cfg EngineConfig) *Engine {
	t.Helper()
	return ownEngineOptions(t, cfg, defaultOptions())
}

// ownEngineOptions is ownEngine with engine settings of the test's own.
func ownEngineOptions(t testing.TB, cfg EngineConfig, opts options) *Engine {
	t.Helper()
	e, err := newEngine(context.Background(), cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return e
}

func compile(t testing.TB, e *Engine, wasm []byte) *Module {
	t.Helper()
	m, err := e.Compile(context.Background(), wasm)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// sandboxDir returns a fresh sandbox directory with room beside it: its
// parent is the test's own temporary directory.
func sandboxDir(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "sandbox")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// deadline bounds every wait, only to fail rather than hang: nothing
// asserts how fast a task stops.
const deadline = 2 * time.Minute

// wait waits for p, failing the test if it has not ended by the deadline.
func wait(t testing.TB, p Process) Result {
	t.Helper()
	ch := make(chan Result, 1)
	go func() { ch <- p.Wait() }()
	select {
	case r := <-ch:
		return r
	case <-time.After(deadline):
		t.Fatalf("task still running after %v", deadline)
		return Result{}
	}
}

// eventually polls cond until it holds, failing the test at the deadline.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(deadline)
	for d := time.Millisecond; !cond(); d = min(2*d, 100*time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("%s: not after %v", what, deadline)
		}
		time.Sleep(d)
	}
}

func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checkResult compares the parts of a Result a test cares about.
func checkResult(t testing.TB, r Result, code int, reason Reason, errHas ...string) {
	t.Helper()
	if r.ExitCode != code || r.Reason != reason {
		t.Errorf("exit code %d, reason %v (err %v); want %d, %v", r.ExitCode, r.Reason, r.Err, code, reason)
	}
	if (r.Err == nil) != (reason == ReasonNone) {
		t.Errorf("err %v with reason %v", r.Err, r.Reason)
	}
	for _, s := range errHas {
		if r.Err == nil || !strings.Contains(r.Err.Error(), s) {
			t.Errorf("err %v does not contain %q", r.Err, s)
		}
	}
}

func contains(t testing.TB, what, got string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("%s does not contain %q:\n%s", what, w, got)
		}
	}
}
