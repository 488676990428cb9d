package sandbox

import (
	"bytes"
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api/module"
	"github.com/mezzo-cluster/mezzo/api/module/moduletest"
)

// hostileCases are modules written to hurt the host (see RATIONALE.md,
// "Hostile modules"). Each ends with the Reason given, or is refused by
// Compile for exceeding the limit named in refused. On wasmtime all are
// stopped in-process. On wazero a loop-free call tree cannot be, and a
// table bomb would kill the test process (wazero allocates the grown
// table at once): validation refuses the table bomb before either engine
// sees it, and the call tree is left to the executor process.
var hostileCases = []struct {
	name    string
	wasm    func(testing.TB) []byte
	spec    Spec // Dir is filled in
	refused string
	reason  Reason
	errHas  []string
	notOn   map[string]string // engine → why the case does not run there
}{
	{
		name:   "tight loop with a CPU budget",
		wasm:   watWasm("loop"),
		spec:   Spec{CPUTime: 50 * time.Millisecond},
		reason: ReasonCPULimit,
		errHas: []string{"CPU time limit of 50ms reached"},
	},
	{
		name:   "loop-free call-tree bomb with a CPU budget",
		wasm:   watWasm("calltree"),
		spec:   Spec{CPUTime: 50 * time.Millisecond},
		reason: ReasonCPULimit,
		errHas: []string{"CPU time limit of 50ms reached"},
		notOn:  map[string]string{Wazero: wazeroCallTree},
	},
	{
		name:   "memory bomb",
		wasm:   watWasm("grow"),
		spec:   Spec{MemoryBytes: 64 * mib},
		reason: ReasonMemoryLimit,
		errHas: []string{"memory limit of 1024 pages"},
	},
	{
		name:    "table bomb",
		wasm:    watWasm("tablebomb"),
		refused: "MaxTableElements",
	},
	{
		name:   "deep recursion",
		wasm:   watWasm("recurse"),
		reason: ReasonTrap,
		errHas: []string{"call stack exhausted"},
	},
	{
		name:   "deep mutual recursion",
		wasm:   watWasm("mutual"),
		reason: ReasonTrap,
		errHas: []string{"call stack exhausted"},
	},
	{
		name:   "deep recursion through call_indirect",
		wasm:   watWasm("recurse_indirect"),
		reason: ReasonTrap,
		errHas: []string{"call stack exhausted"},
	},
	{
		name:   "deep recursion with 10,000 locals a frame",
		wasm:   func(testing.TB) []byte { return recursionWithLocals(10_000, true) },
		reason: ReasonTrap,
		errHas: []string{"call stack exhausted"},
	},
	{
		name:   "missing import",
		wasm:   watWasm("missing_import"),
		reason: ReasonLaunchFailed,
		errHas: []string{"imports what the host does not provide: function env.nope"},
	},
	{
		name:   "WASI import of the wrong type",
		wasm:   watWasm("import_type"),
		reason: ReasonLaunchFailed,
		errHas: []string{"fd_write"},
	},
	{
		name:    "200k functions",
		wasm:    func(testing.TB) []byte { return moduletest.ManyFunctions(200_000) },
		refused: "MaxFunctions",
	},
}

func TestHostileModules(t *testing.T) {
	t.Parallel()
	for _, engine := range Engines() {
		for _, tt := range hostileCases {
			t.Run(engine+"/"+tt.name, func(t *testing.T) {
				if why, ok := tt.notOn[engine]; ok {
					t.Skip(why)
				}
				t.Parallel()
				e := testEngine(t, engine)
				m, err := e.Compile(context.Background(), tt.wasm(t))
				var lim *module.LimitError
				switch {
				case tt.refused != "":
					if !errors.As(err, &lim) || lim.Limit != tt.refused {
						t.Fatalf("Compile error %v, want a LimitError for %s", err, tt.refused)
					}
					return
				case err != nil:
					t.Fatal(err)
				}
				spec := tt.spec
				spec.Dir = sandboxDir(t)
				p, err := e.StartWasm(context.Background(), m, spec, WasmSpec{})
				if err != nil {
					t.Fatal(err)
				}
				r := wait(t, p)
				t.Logf("%v after %.3f s of CPU time", r.Err, r.Usage.CPUSeconds)
				if r.Reason != tt.reason {
					t.Errorf("reason %v (err %v), want %v", r.Reason, r.Err, tt.reason)
				}
				checkResult(t, r, -1, tt.reason, tt.errHas...)
			})
		}
	}
}

// TestTableBombPastValidation shows what stands behind validation on
// wasmtime: with MaxTableElements raised so that Compile accepts a table
// that can grow to 2^32 elements, the store limiter still refuses the
// grow. It does not run on wazero, which would allocate 30 GiB.
func TestTableBombPastValidation(t *testing.T) {
	if !wasmtimeAvailable {
		t.Skip("wasmtime needs cgo")
	}
	t.Parallel()
	opts := defaultOptions()
	opts.wasmtime.maxTableElements = 1 << 20
	e := ownEngineOptions(t, EngineConfig{
		DefaultEngine: Wasmtime,
		ModuleLimits:  module.Limits{MaxTableElements: math.MaxUint32},
	}, opts)
	m := compile(t, e, watModules["tablebomb_max"])
	p, err := e.StartWasm(context.Background(), m, Spec{Dir: sandboxDir(t)}, WasmSpec{})
	if err != nil {
		t.Fatal(err)
	}
	// table.grow returns -1, and the module then traps.
	checkResult(t, wait(t, p), -1, ReasonTrap, "unreachable")
}

// TestUncappedMemoriesRefused compiles modules whose memory a task's
// limit would not cap under wasmtime: a shared memory (its store limiter
// does not govern one; it grew to 512 MiB under a cap of 16 MiB) and two
// memories (each got the whole limit). Both engines refuse them alike,
// in validation. Neither wat2wasm nor TestWATModules enables threads or
// multiple memories, so the bytes are here.
func TestUncappedMemoriesRefused(t *testing.T) {
	t.Parallel()
	header := []byte{0, 'a', 's', 'm', 1, 0, 0, 0}
	tests := []struct {
		name, errHas string
		memories     []byte // the memory section's payload
	}{
		{"a shared memory", "shared memories are not supported", []byte{1, 3, 1, 2}},
		{"two memories", "a second memory is not supported", []byte{2, 0, 1, 0, 1}},
	}
	for _, engine := range Engines() {
		for _, tt := range tests {
			t.Run(engine+"/"+tt.name, func(t *testing.T) {
				wasm := appendSection(bytes.Clone(header), 5, tt.memories)
				_, err := testEngine(t, engine).Compile(context.Background(), wasm)
				var fe *module.FormatError
				if !errors.As(err, &fe) || !strings.Contains(err.Error(), tt.errHas) {
					t.Errorf("Compile error %v, want a FormatError saying %q", err, tt.errHas)
				}
			})
		}
	}
}
