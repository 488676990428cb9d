package sandbox

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

// The benchmarks behind RATIONALE.md. Run them with
//
//	go test -run '^$' -bench . -benchtime 20x ./sandbox
//
// and compare runs with benchstat.

// variants are the engines with each way of stopping a guest, and
// without.
var variants = []struct {
	name   string
	engine string
	opts   options
}{
	{"wazero", Wazero, options{}},
	{"wazero-interruptible", Wazero, options{wazero: wazeroOptions{closeOnContextDone: true}}},
	{"wasmtime", Wasmtime, options{}},
	{"wasmtime-epochs", Wasmtime, options{wasmtime: wasmtimeOptions{epochs: true}}},
	{"wasmtime-fuel", Wasmtime, options{wasmtime: wasmtimeOptions{fuel: true}}},
}

// BenchmarkCPUBound runs CPU-bound modules under each variant: a tight
// arithmetic loop (arith.wat, 100 million rounds of xorshift64), the
// tightest loop there is (count.wat, a counter to 100 million), and Go code
// (the guest hashing 64 MiB with SHA-256).
func BenchmarkCPUBound(b *testing.B) {
	benchmarkRun(b, "arith", watWasm("arith"), nil)
	benchmarkRun(b, "count", watWasm("count"), nil)
	benchmarkRun(b, "gosha", goWasm("guest"), []string{"hash"})
}

// BenchmarkCallHeavy runs recursive Fibonacci of 30 (fib.wat, 2.7
// million calls) under each variant.
func BenchmarkCallHeavy(b *testing.B) { benchmarkRun(b, "fib", watWasm("fib"), nil) }

func benchmarkRun(b *testing.B, name string, wasm func(testing.TB) []byte, args []string) {
	for _, v := range variants {
		b.Run(name+"/"+v.name, func(b *testing.B) {
			if !slices.Contains(Engines(), v.engine) {
				b.Skip(v.engine + " is not in this build")
			}
			e := ownEngineOptions(b, EngineConfig{DefaultEngine: v.engine}, v.opts)
			m := compile(b, e, wasm(b))
			spec := Spec{Dir: b.TempDir()}
			for b.Loop() {
				run(b, e, m, spec, WasmSpec{Args: args})
			}
		})
	}
}

// run starts a task and waits for it, which must succeed.
func run(b *testing.B, e *Engine, m *Module, spec Spec, w WasmSpec) Result {
	p, err := e.StartWasm(context.Background(), m, spec, w)
	if err != nil {
		b.Fatal(err)
	}
	r := p.Wait()
	if r.Err != nil || r.ExitCode != 0 {
		b.Fatalf("%d %v", r.ExitCode, r.Err)
	}
	return r
}

// BenchmarkStartWasm starts a task from a compiled module and waits for
// it to end, on each engine as configured by default: the launch latency
// of a cached module. It reports the median besides the mean.
func BenchmarkStartWasm(b *testing.B) {
	modules := map[string]func(testing.TB) []byte{"tiny": watWasm("tiny"), "hello": helloModule}
	for _, engine := range Engines() {
		for _, name := range []string{"tiny", "hello"} {
			b.Run(engine+"/"+name, func(b *testing.B) {
				e := ownEngine(b, EngineConfig{DefaultEngine: engine})
				m := compile(b, e, modules[name](b))
				spec := Spec{Dir: b.TempDir()}
				var times []time.Duration
				b.ReportAllocs()
				for b.Loop() {
					start := time.Now()
					run(b, e, m, spec, WasmSpec{Name: name})
					times = append(times, time.Since(start))
				}
				reportMedian(b, times)
			})
		}
	}
}

// BenchmarkLoadCached compiles the Go hello sample in a new engine whose
// cache directory already holds its code: what a restarted executor pays
// per module.
func BenchmarkLoadCached(b *testing.B) {
	hello := helloModule(b)
	for _, engine := range Engines() {
		b.Run(engine, func(b *testing.B) {
			dir := b.TempDir()
			cfg := EngineConfig{DefaultEngine: engine, CacheDir: dir}
			compile(b, ownEngine(b, cfg), hello) // fills the cache
			for b.Loop() {
				e, err := NewEngine(context.Background(), cfg)
				if err != nil {
					b.Fatal(err)
				}
				compile(b, e, hello)
				b.StopTimer()
				e.Close(context.Background())
				b.StartTimer()
			}
		})
	}
}

// BenchmarkOverrun gives runaway guests a CPU budget of 20 ms and reports
// how far past it they ran in CPU time (the median, 99th percentile and
// maximum), and the median wall time from the start to Wait's return.
func BenchmarkOverrun(b *testing.B) {
	const budget = 20 * time.Millisecond
	for _, engine := range Engines() {
		for _, tt := range stopCases {
			if _, ok := tt.notOn[engine]; ok || tt.name == "sleeping guest" {
				continue
			}
			b.Run(engine+"/"+tt.name, func(b *testing.B) {
				e := ownEngine(b, EngineConfig{DefaultEngine: engine})
				m := compile(b, e, tt.wasm(b))
				spec := Spec{Dir: b.TempDir(), CPUTime: budget}
				var over, wall []time.Duration
				for b.Loop() {
					start := time.Now()
					p, err := e.StartWasm(context.Background(), m, spec, WasmSpec{})
					if err != nil {
						b.Fatal(err)
					}
					r := p.Wait()
					wall = append(wall, time.Since(start))
					if r.Reason != ReasonCPULimit {
						b.Fatalf("%v: %v", r.Reason, r.Err)
					}
					over = append(over, time.Duration(r.Usage.CPUSeconds*1e9)-budget)
				}
				b.ReportMetric(ms(median(over)), "overrun-ms")
				b.ReportMetric(ms(percentile(over, 99)), "p99-overrun-ms")
				b.ReportMetric(ms(slices.Max(over)), "max-overrun-ms")
				b.ReportMetric(ms(median(wall)), "wall-ms")
			})
		}
	}
}

func reportMedian(b *testing.B, times []time.Duration) {
	b.ReportMetric(float64(median(times))/1e3, "p50-µs")
}

func median(d []time.Duration) time.Duration { return percentile(d, 50) }

// percentile returns the p-th percentile of d, by the nearest rank.
func percentile(d []time.Duration, p int) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)]
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

var (
	helloOnce sync.Once
	helloWasm []byte
	helloErr  error
)

// helloModule returns samples/modules/hello built for wasip1, the module
// a user runs first.
func helloModule(t testing.TB) []byte {
	t.Helper()
	helloOnce.Do(func() {
		dir, err := os.MkdirTemp("", "sandbox-hello-")
		if err != nil {
			helloErr = err
			return
		}
		defer os.RemoveAll(dir)
		out := filepath.Join(dir, "hello.wasm")
		cmd := exec.Command(goTool(), "build", "-o", out, "../samples/modules/hello")
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			helloErr = fmt.Errorf("go build hello: %v\n%s", err, b)
			return
		}
		helloWasm, helloErr = os.ReadFile(out)
	})
	if helloErr != nil {
		t.Fatal(helloErr)
	}
	return helloWasm
}
