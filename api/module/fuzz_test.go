package module

import (
	"errors"
	"runtime"
	"runtime/metrics"
	"testing"

	"github.com/mezzo-cluster/mezzo/api/module/moduletest"
)

// FuzzValidate checks that Validate never panics, reports every failure
// as a *LimitError or a *FormatError, returns an Info within its limits,
// and allocates in proportion to its input, whatever the input: every
// count read from the binary is bounded by the bytes left.
//
// The seed corpus in testdata/fuzz/FuzzValidate holds the hand-written
// modules of the sandbox tests and the hostile modules.
func FuzzValidate(f *testing.F) {
	f.Add(wasmModule())
	f.Add(simple(map[byte][]byte{secTable: vec(table(1, -1))}, tableGrow(0xF0000000)))
	f.Add(moduletest.ManyFunctions(10))
	small := Limits{
		MaxBytes: 1 << 16, MaxFunctions: 50, MaxCodeBytes: 1 << 12, MaxTableElements: 100,
		MaxMemoryPages: 10, MaxImports: 5, MaxExports: 5, MaxTables: 2, MaxLocals: 100,
	}
	f.Fuzz(func(t *testing.T, wasm []byte) {
		for _, lim := range []Limits{{}, small} {
			bound := 64<<10 + 64*uint64(len(wasm))
			before := allocated()
			info, err := Validate(wasm, lim)
			if allocated()-before > bound {
				// The fast count is a span at a time: measure again,
				// exactly.
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				Validate(wasm, lim)
				runtime.ReadMemStats(&after)
				if alloc := after.TotalAlloc - before.TotalAlloc; alloc > bound {
					t.Fatalf("Validate allocated %d bytes for %d bytes of input", alloc, len(wasm))
				}
			}
			checkOutcome(t, lim.WithDefaults(), info, err)
		}
	})
}

func checkOutcome(t *testing.T, lim Limits, info *Info, err error) {
	t.Helper()
	var le *LimitError
	var fe *FormatError
	if err != nil {
		if info != nil {
			t.Fatalf("info %+v with error %v", info, err)
		}
		if !errors.As(err, &le) && !errors.As(err, &fe) {
			t.Fatalf("error %T %v is neither a LimitError nor a FormatError", err, err)
		}
		return
	}
	switch {
	case info == nil:
		t.Fatal("no info and no error")
	case info.Functions > lim.MaxFunctions, len(info.Imports) > lim.MaxImports,
		len(info.Exports) > lim.MaxExports, info.CodeBytes > lim.MaxCodeBytes,
		len(info.Tables) > lim.MaxTables, len(info.Memories) > 1:
		t.Fatalf("info %+v exceeds %+v", info, lim)
	}
	var total uint64
	for _, tb := range info.Tables {
		if tb.Min > uint64(lim.MaxTableElements) || tb.Grows && (!tb.HasMax || tb.Max > uint64(lim.MaxTableElements)) {
			t.Fatalf("table %+v accepted with MaxTableElements %d", tb, lim.MaxTableElements)
		}
		if tb.Grows {
			total += tb.Max
		} else {
			total += tb.Min
		}
	}
	if total > uint64(lim.MaxTableElements) {
		t.Fatalf("tables %+v, %d elements in all, accepted with MaxTableElements %d", info.Tables, total, lim.MaxTableElements)
	}
	for _, e := range info.Exports {
		if (e.Kind == KindFunction) != (e.Type != nil) {
			t.Fatalf("export %+v", e)
		}
	}
}

// allocated returns the bytes allocated on the heap so far. It reads
// runtime/metrics, which does not stop the world as ReadMemStats does,
// but counts small objects a span at a time.
func allocated() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}
