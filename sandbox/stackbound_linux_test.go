package sandbox

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"runtime/metrics"
	"strconv"
	"testing"
)

// deepRecursions are the recursions TestDeepRecursionMemory runs.
var deepRecursions = []struct {
	name string
	wasm func() []byte
}{
	{"a function calling itself", func() []byte { return watModules["recurse"] }},
	{"mutual recursion", func() []byte { return watModules["mutual"] }},
	{"recursion through call_indirect", func() []byte { return watModules["recurse_indirect"] }},
	{"10,000 unused locals a frame", func() []byte { return recursionWithLocals(10_000, false) }},
	{"10,000 locals a frame live across the call", func() []byte { return recursionWithLocals(10_000, true) }},
	{"1,000 values a frame live across the call", func() []byte { return recursionWithValues(1000) }},
	{"1,000 v128 call results a frame live across the call", func() []byte { return recursionWithV128Results(1000) }},
}

// maxRecursionMemory is what a deep recursion may cost the host, by
// issue #4's requirement.
const maxRecursionMemory = 64 << 20

// recursionChild is the environment variable that makes the test binary
// run one of deepRecursions and report, as a child process of
// TestDeepRecursionMemory.
const recursionChild = "SANDBOX_TEST_RECURSION_CHILD"

// TestDeepRecursionMemory runs each deep recursion on wazero in a child
// process of its own, and checks that it traps as stack exhaustion and
// costs at most maxRecursionMemory: both the bytes the Go heap allocated
// while the guest ran (wazero's stack is a Go slice that it doubles,
// so this counts every size it took) and the child's peak RSS, which
// includes compiling the module and the Go runtime (VmHWM). The race detector's
// shadow memory inflates RSS, so only the allocations are checked under
// it. Without boundStack, wazero allocates about 168 MB before its own
// stack overflow, and the test fails.
func TestDeepRecursionMemory(t *testing.T) {
	if name := os.Getenv(recursionChild); name != "" {
		runRecursionChild(t, name)
		return
	}
	t.Parallel()
	report := regexp.MustCompile(`reason=(\S+) allocated=(\d+) rss=(\d+) err=(.*)`)
	for _, tt := range deepRecursions {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0], "-test.run=^TestDeepRecursionMemory$", "-test.count=1", "-test.v")
			cmd.Env = append(os.Environ(), recursionChild+"="+tt.name)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("child: %v\n%s", err, out)
			}
			m := report.FindSubmatch(out)
			if m == nil {
				t.Fatalf("child reported nothing:\n%s", out)
			}
			allocated, _ := strconv.ParseUint(string(m[2]), 10, 64)
			rss, _ := strconv.ParseUint(string(m[3]), 10, 64)
			t.Logf("reason %s, %.1f MiB allocated while it ran, peak RSS %.1f MiB: %s",
				m[1], float64(allocated)/mib, float64(rss)/mib, m[4])
			if string(m[1]) != ReasonTrap.String() || !bytes.Contains(m[4], []byte(errStackExhausted.Error())) {
				t.Errorf("reason %s, err %s; want %v and %q", m[1], m[4], ReasonTrap, errStackExhausted)
			}
			if allocated > maxRecursionMemory {
				t.Errorf("the Go heap allocated %d bytes while the guest ran, more than %d", allocated, maxRecursionMemory)
			}
			if rss > maxRecursionMemory && !raceEnabled {
				t.Errorf("peak RSS %d bytes, more than %d", rss, maxRecursionMemory)
			}
		})
	}
}

// runRecursionChild runs the deep recursion called name on wazero and
// prints how it ended and what the Go heap allocated meanwhile.
func runRecursionChild(t *testing.T, name string) {
	var wasm []byte
	for _, tt := range deepRecursions {
		if tt.name == name {
			wasm = tt.wasm()
		}
	}
	if wasm == nil {
		t.Fatalf("no deep recursion called %q", name)
	}
	e := ownEngine(t, EngineConfig{DefaultEngine: Wazero})
	m := compile(t, e, wasm)
	runtime.GC()
	before := heapAllocated()
	p, err := e.StartWasm(context.Background(), m, Spec{Dir: sandboxDir(t)}, WasmSpec{})
	if err != nil {
		t.Fatal(err)
	}
	r := wait(t, p)
	allocated := heapAllocated() - before
	fmt.Printf("reason=%s allocated=%d rss=%d err=%v\n", r.Reason, allocated, peakRSS(t), r.Err)
}

// peakRSS returns the process's peak resident set size (VmHWM). The
// parent cannot take it from the child's rusage: Linux counts there the
// parent's memory that the child shared until it called exec.
func peakRSS(t *testing.T) uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`VmHWM:\s+(\d+) kB`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("no VmHWM in /proc/self/status:\n%s", b)
	}
	kb, _ := strconv.ParseUint(string(m[1]), 10, 64)
	return kb << 10
}

// heapAllocated returns the bytes allocated on the Go heap so far.
func heapAllocated() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// recursionWithValues is a module whose _start computes n values, calls
// itself, then adds them up, so that wazero keeps n values that are no
// locals on its stack across each call.
func recursionWithValues(n int) []byte {
	var code []byte
	for i := range n {
		code = append(code, 0x23, 0) // global.get 0
		code = appendSLEB(append(code, 0x42), int64(i))
		code = append(code, 0x7c) // i64.add
	}
	code = append(code, 0x10, 0) // call 0
	for range n - 1 {
		code = append(code, 0x7c) // i64.add
	}
	code = append(code, 0x24, 0, 0x0b) // global.set 0; end
	body := append([]byte{0}, code...)
	wasm := []byte{0, 'a', 's', 'm', 1, 0, 0, 0}
	wasm = appendSection(wasm, 1, []byte{1, 0x60, 0, 0})
	wasm = appendSection(wasm, 3, []byte{1, 0})
	wasm = appendSection(wasm, 6, []byte{1, 0x7e, 1, 0x42, 0, 0x0b}) // (mut i64) (i64.const 0)
	wasm = appendSection(wasm, 7, append(append([]byte{1, 6}, "_start"...), 0, 0))
	return appendSection(wasm, 10, append(appendULEB([]byte{1}, uint64(len(body))), body...))
}

// recursionWithV128Results is a module whose _start calls a function
// returning a v128 n times, calls itself, then adds the n results up:
// the frames that frameCost underestimates most among those measured
// (RATIONALE.md), each result costing wazero 16 bytes of stack for 3
// bytes of code.
func recursionWithV128Results(n int) []byte {
	code := []byte{0}
	for range n {
		code = append(code, 0x10, 0) // call 0
	}
	code = append(code, 0x10, 1) // call 1
	for range n - 1 {
		code = append(code, 0xfd, 0xce, 0x01) // i64x2.add
	}
	code = append(code, 0x24, 0, 0x0b) // global.set 0; end
	get := []byte{0, 0x23, 0, 0x0b}    // global.get 0
	wasm := []byte{0, 'a', 's', 'm', 1, 0, 0, 0}
	wasm = appendSection(wasm, 1, []byte{2, 0x60, 0, 1, 0x7b, 0x60, 0, 0}) // () -> v128, () -> ()
	wasm = appendSection(wasm, 3, []byte{2, 0, 1})
	v128 := append([]byte{1, 0x7b, 1, 0xfd, 0x0c}, make([]byte, 16)...) // (mut v128) (v128.const 0)
	wasm = appendSection(wasm, 6, append(v128, 0x0b))
	wasm = appendSection(wasm, 7, append(append([]byte{1, 6}, "_start"...), 0, 1))
	codes := appendULEB([]byte{2}, uint64(len(get)))
	codes = append(codes, get...)
	codes = appendULEB(codes, uint64(len(code)))
	return appendSection(wasm, 10, append(codes, code...))
}
