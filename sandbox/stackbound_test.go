package sandbox

import (
	"bytes"
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/mezzo-cluster/mezzo/api/module"
	"github.com/mezzo-cluster/mezzo/api/module/moduletest"
)

// boundCall is a call of an exported function in TestBoundStack.
type boundCall struct {
	fn   string
	args []uint64
	want []uint64 // nil: whatever the module without instrumentation returns
	trap bool
}

// TestBoundStack runs modules with and without boundStack's
// instrumentation under wazero and checks that every call returns the
// same results, or traps alike, and leaves the counter within the budget
// and the same whatever the depth of its calls; and that the recursions
// trap on the counter.
func TestBoundStack(t *testing.T) {
	tests := []struct {
		name     string
		wasm     []byte
		calls    []boundCall
		globals  map[string]uint64 // exported globals after the calls
		exhausts bool              // the first call exhausts the stack
	}{
		{
			name: "imports, multiple results, start, elements, ref.func, exports",
			wasm: watModules["rewrite"],
			calls: []boundCall{
				{fn: "fact", args: []uint64{1}, want: []uint64{1}},
				{fn: "fact", args: []uint64{5}, want: []uint64{120}},
				{fn: "swap", args: []uint64{1, 2, math.Float64bits(3)}, want: []uint64{math.Float64bits(3), 2, 1}},
				{fn: "via_table", args: []uint64{0, 4}, want: []uint64{24}},
				{fn: "via_table", args: []uint64{1, 21}, want: []uint64{42}},
				{fn: "via_table", args: []uint64{3, 1}, trap: true}, // a null element
				{fn: "via_ref_func", args: []uint64{5}, want: []uint64{15}},
				{fn: "trap", trap: true},
			},
			globals: map[string]uint64{"started": 42},
		},
		{name: "recursive Fibonacci", wasm: watModules["fib"], calls: []boundCall{{fn: "_start"}}},
		{name: "a loop and an i64 global", wasm: watModules["count"], calls: []boundCall{{fn: "_start"}}},
		{
			name:  "no global section, two exports",
			wasm:  watModules["tiny"],
			calls: []boundCall{{fn: "_start"}, {fn: "with_param", args: []uint64{7}}},
		},
		{name: "1,000 functions", wasm: moduletest.ManyFunctions(1000), calls: []boundCall{{fn: "_start"}}},
		{name: "recursion", wasm: watModules["recurse"], calls: []boundCall{{fn: "_start", trap: true}}, exhausts: true},
		{name: "mutual recursion", wasm: watModules["mutual"], calls: []boundCall{{fn: "_start", trap: true}}, exhausts: true},
		{
			name:     "recursion through call_indirect",
			wasm:     watModules["recurse_indirect"],
			calls:    []boundCall{{fn: "_start", trap: true}},
			exhausts: true,
		},
		{
			name:     "recursion with 10,000 locals",
			wasm:     recursionWithLocals(10_000, true),
			calls:    []boundCall{{fn: "_start", trap: true}},
			exhausts: true,
		},
	}
	ctx := context.Background()
	r := rewriteRuntime(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plain, bounded, export := instantiateBoth(t, r, tt.wasm)
			counter := bounded.ExportedGlobal(export)
			if counter == nil {
				t.Fatalf("no export %q", export)
			}
			after := make(map[string]uint64) // the counter after a function's first call
			// The sandbox never calls an instance twice; this test
			// starts each call from an empty stack, even the first:
			// the start function left its own frame counted.
			counter.(api.MutableGlobal).Set(0)
			for i, c := range tt.calls {
				want, wantErr := plain.ExportedFunction(c.fn).Call(ctx, c.args...)
				f := bounded.ExportedFunction(c.fn)
				got, err := f.Call(ctx, c.args...)
				if (err != nil) != c.trap || (wantErr != nil) != c.trap {
					t.Fatalf("%s%v: error %v, without instrumentation %v; want a trap: %v", c.fn, c.args, err, wantErr, c.trap)
				}
				types := f.Definition().ResultTypes()
				got, want = resultsOf(types, got), resultsOf(types, want)
				if !slices.Equal(got, want) || c.want != nil && !slices.Equal(got, c.want) {
					t.Errorf("%s%v = %v, without instrumentation %v, want %v", c.fn, c.args, got, want, c.want)
				}
				n := counter.Get()
				switch first, seen := after[c.fn]; {
				case tt.exhausts && i == 0:
					if uint32(n) <= stackBudget {
						t.Errorf("%s trapped with %v and the counter at %d, within the budget", c.fn, err, n)
					}
				case c.trap:
				case uint32(n) > stackBudget || n == 0:
					t.Errorf("%s%v left the counter at %d", c.fn, c.args, n)
				case seen && n != first:
					// Whatever the depth of the calls it made, a call
					// from the host leaves its own frame counted, which
					// the host does not take back.
					t.Errorf("%s%v left the counter at %d, and at %d before", c.fn, c.args, n, first)
				default:
					after[c.fn] = n
				}
				counter.(api.MutableGlobal).Set(0)
			}
			for name, want := range tt.globals {
				if a, b := plain.ExportedGlobal(name).Get(), bounded.ExportedGlobal(name).Get(); a != want || b != want {
					t.Errorf("global %s = %d, without instrumentation %d, want %d", name, b, a, want)
				}
			}
		})
	}
}

// TestBoundStackNames checks that a trap's stack trace still names every
// frame from the module's name section, and that the counter's export
// does not take a name the module exports already.
func TestBoundStackNames(t *testing.T) {
	names := appendULEB(nil, 2)
	for i, n := range []string{"ping", "pong"} {
		names = appendULEB(names, uint64(i))
		names = append(appendULEB(names, uint64(len(n))), n...)
	}
	sub := append([]byte{1}, appendULEB(nil, uint64(len(names)))...)
	custom := append(append([]byte{4}, "name"...), append(sub, names...)...)
	wasm := appendSection(bytes.Clone(watModules["mutual"]), customSection, custom)

	info, err := module.Validate(wasm, module.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	info.Exports = append(info.Exports, module.Export{Name: stackExportName})
	b, err := boundStack(wasm, info, 200) // a small budget
	if err != nil {
		t.Fatal(err)
	}
	if b.export != stackExportName+"-1" {
		t.Errorf("export %q, want %q", b.export, stackExportName+"-1")
	}
	ctx := context.Background()
	r := rewriteRuntime(t)
	mod, err := r.InstantiateWithConfig(ctx, b.wasm, wazero.NewModuleConfig().WithName("").WithStartFunctions())
	if err != nil {
		t.Fatal(err)
	}
	_, err = mod.ExportedFunction("_start").Call(ctx)
	if err == nil {
		t.Fatal("no trap")
	}
	if g := mod.ExportedGlobal(b.export); g == nil || g.Get() <= 200 {
		t.Errorf("the counter %v is not past the budget", g)
	}
	// An unnamed frame would show as ".$1()".
	if msg := err.Error(); !strings.Contains(msg, ".ping()") || !strings.Contains(msg, ".pong()") || strings.Contains(msg, ".$") {
		t.Errorf("the stack trace does not name every frame ping or pong:\n%v", err)
	}
}

// FuzzBoundStack checks that boundStack never panics, and that whenever
// wazero compiles a module that module.Validate accepts, it compiles the
// instrumented module too.
func FuzzBoundStack(f *testing.F) {
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range watModules {
			if !yield(k) {
				return
			}
		}
	}) {
		f.Add(watModules[name])
	}
	f.Add(moduletest.ManyFunctions(3))
	f.Add(recursionWithLocals(3, true))
	ctx := context.Background()
	r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	f.Cleanup(func() { r.Close(ctx) })
	f.Fuzz(func(t *testing.T, wasm []byte) {
		info, err := module.Validate(wasm, module.Limits{})
		if err != nil {
			return
		}
		b, boundErr := boundStack(wasm, info, stackBudget)
		cm, err := r.CompileModule(ctx, wasm)
		if err != nil {
			return
		}
		cm.Close(ctx)
		if boundErr != nil {
			t.Fatalf("boundStack: %v", boundErr)
		}
		cm, err = r.CompileModule(ctx, b.wasm)
		if err != nil {
			t.Fatalf("wazero refuses the instrumented module: %v", err)
		}
		cm.Close(ctx)
	})
}

// resultsOf returns results with the bits above 32 of each i32 and f32
// cleared: wazero leaves them undefined.
func resultsOf(types []api.ValueType, results []uint64) []uint64 {
	out := slices.Clone(results)
	for i, t := range types {
		if i < len(out) && (t == api.ValueTypeI32 || t == api.ValueTypeF32) {
			out[i] = uint64(uint32(out[i]))
		}
	}
	return out
}

// rewriteRuntime returns a wazero runtime with rewrite.wat's imports, as
// the module "env".
func rewriteRuntime(t testing.TB) wazero.Runtime {
	t.Helper()
	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	t.Cleanup(func() { r.Close(ctx) })
	if _, err := r.InstantiateWithConfig(ctx, watModules["rewrite_env"], wazero.NewModuleConfig().WithName("env")); err != nil {
		t.Fatal(err)
	}
	return r
}

// instantiateBoth instantiates wasm with and without boundStack's
// instrumentation, and returns both and the counter's export.
func instantiateBoth(t testing.TB, r wazero.Runtime, wasm []byte) (plain, bounded api.Module, export string) {
	t.Helper()
	info, err := module.Validate(wasm, module.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := boundStack(wasm, info, stackBudget)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	config := wazero.NewModuleConfig().WithName("").WithStartFunctions()
	if plain, err = r.InstantiateWithConfig(ctx, wasm, config); err != nil {
		t.Fatal(err)
	}
	if bounded, err = r.InstantiateWithConfig(ctx, b.wasm, config); err != nil {
		t.Fatal(err)
	}
	return plain, bounded, b.export
}

// recursionWithLocals is a module whose _start declares n i64 locals and
// calls itself. With live set, it gives each local a value computed
// from a global before the call and adds them all up after it, so that wazero keeps them on its
// stack across the call; otherwise they are never used. A WAT file of it
// would name every local, so it is built here.
func recursionWithLocals(n int, live bool) []byte {
	var code []byte
	if live {
		for i := range n {
			code = append(code, 0x23, 0)                     // global.get 0
			code = appendSLEB(append(code, 0x42), int64(i))  // i64.const i
			code = append(code, 0x7c)                        // i64.add
			code = appendULEB(append(code, 0x21), uint64(i)) // local.set i
		}
	}
	code = append(code, 0x10, 0) // call 0
	if live {
		code = append(code, 0x23, 0) // global.get 0
		for i := range n {
			code = appendULEB(append(code, 0x20), uint64(i)) // local.get i
			code = append(code, 0x7c)                        // i64.add
		}
		code = append(code, 0x24, 0) // global.set 0
	}
	body := appendULEB([]byte{1}, uint64(n))
	body = append(append(body, 0x7e), code...) // n locals of i64
	body = append(body, 0x0b)
	wasm := []byte{0, 'a', 's', 'm', 1, 0, 0, 0}
	wasm = appendSection(wasm, 1, []byte{1, 0x60, 0, 0})
	wasm = appendSection(wasm, 3, []byte{1, 0})
	wasm = appendSection(wasm, 6, []byte{1, 0x7e, 1, 0x42, 0, 0x0b}) // (mut i64) (i64.const 0)
	wasm = appendSection(wasm, 7, append(append([]byte{1, 6}, "_start"...), 0, 0))
	return appendSection(wasm, 10, append(appendULEB([]byte{1}, uint64(len(body))), body...))
}

// TestStackCounterOutOfReach compiles modules that recurse ten million
// calls deep and reset boundStack's counter on the way down, naming it
// by an index that does not exist in the module as written: the global
// boundStack adds (global.set 0 in a module without globals) or the local
// it adds to each function (local.set 1 in a function with one
// parameter and no locals). Once instrumented the index was valid, and
// under wazero the recursion went unbounded (186 MB of stack). Both
// engines now refuse them in validation, before any rewriting.
func TestStackCounterOutOfReach(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, errHas string
		reset        []byte // the instructions that zero the counter
	}{
		{"through the counter's global", "global 0 does not exist", []byte{0x41, 0, 0x24, 0}},
		{"through the frame's local", "local 1 does not exist", []byte{0x41, 0, 0x21, 1}},
	}
	for _, engine := range Engines() {
		for _, tt := range tests {
			t.Run(engine+"/"+tt.name, func(t *testing.T) {
				_, err := testEngine(t, engine).Compile(context.Background(), recursionResetting(tt.reset))
				var fe *module.FormatError
				if !errors.As(err, &fe) || !strings.Contains(err.Error(), tt.errHas) {
					t.Errorf("Compile error %v, want a FormatError saying %q", err, tt.errHas)
				}
			})
		}
	}
}

// recursionResetting is a module whose function 0, of type (i32) -> (),
// runs reset and then calls itself with its argument less one until it
// is 0; _start calls it with ten million.
func recursionResetting(reset []byte) []byte {
	f := append([]byte{0}, reset...) // no locals
	f = append(f,
		0x20, 0, 0x04, 0x40, // local.get 0, if
		0x20, 0, 0x41, 1, 0x6b, 0x10, 0, // local.get 0, i32.const 1, i32.sub, call 0
		0x0b, 0x0b) // end, end
	start := appendSLEB([]byte{0, 0x41}, 10_000_000)
	start = append(start, 0x10, 0, 0x0b) // call 0, end
	code := []byte{2}
	code = append(appendULEB(code, uint64(len(f))), f...)
	code = append(appendULEB(code, uint64(len(start))), start...)
	wasm := []byte{0, 'a', 's', 'm', 1, 0, 0, 0}
	wasm = appendSection(wasm, 1, []byte{2, 0x60, 1, 0x7f, 0, 0x60, 0, 0})
	wasm = appendSection(wasm, 3, []byte{2, 0, 1})
	wasm = appendSection(wasm, 7, append(append([]byte{1, 6}, "_start"...), 0, 1))
	return appendSection(wasm, 10, code)
}
