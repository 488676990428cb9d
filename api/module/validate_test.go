package module

import (
	"errors"
	"strings"
	"testing"

	"github.com/mezzo-cluster/mezzo/api/module/moduletest"
)

func TestValidate(t *testing.T) {
	wasi := func(n string) []byte { return cat(name("wasi_snapshot_preview1"), name(n)) }
	tests := []struct {
		name  string
		wasm  []byte
		lim   Limits
		limit string // the LimitError's Limit expected, if any
		err   string // a substring of the FormatError expected, if any
		check func(t *testing.T, info *Info)
	}{
		{
			name: "empty module",
			wasm: wasmModule(),
			check: func(t *testing.T, info *Info) {
				if info.Functions != 0 || len(info.Imports)+len(info.Exports)+len(info.Tables)+len(info.Memories) != 0 {
					t.Errorf("info %+v", info)
				}
			},
		},
		{name: "no bytes", wasm: nil, err: "invalid magic number"},
		{name: "a shell script", wasm: []byte("#!/bin/sh\necho\n"), err: "invalid magic number"},
		{name: "a component", wasm: []byte{0, 'a', 's', 'm', 0x0d, 0, 1, 0}, err: "components are not modules"},
		{name: "truncated section", wasm: wasmModule(section(secType, vec(funcType(nil, nil))))[:12], err: "bytes declared"},
		{name: "unknown section", wasm: wasmModule(section(14)), err: "unknown section id 14"},
		{
			name: "sections out of order",
			wasm: wasmModule(section(secMemory, vec([]byte{0, 1})), section(secTable, vec(table(1, 1)))),
			err:  "out of order",
		},
		{
			name: "repeated section",
			wasm: wasmModule(section(secMemory, vec()), section(secMemory, vec())),
			err:  "out of order or repeated",
		},
		{
			name: "custom sections anywhere",
			wasm: wasmModule(section(secCustom, name("a"), []byte("xyz")), section(secType, vec()), section(secCustom, name("b"))),
		},
		{name: "garbage-collected types", wasm: wasmModule(section(secType, vec([]byte{0x5f, 0, 0}))), err: "not a function type"},
		{
			name: "imports, exports and their types",
			wasm: simple(map[byte][]byte{
				secImport: vec(
					cat(wasi("proc_exit"), []byte{0}, uleb(1)),
					cat(name("env"), name("mem"), []byte{2, 1}, uleb(1), uleb(2)),
					cat(name("env"), name("tab"), []byte{1}, table(3, 4)),
					cat(name("env"), name("g"), []byte{3, 0x7f, 0})),
				secExport: vec(cat(name("_start"), []byte{0}, uleb(1)), cat(name("exit"), []byte{0}, uleb(0))),
			}, body()),
			check: func(t *testing.T, info *Info) {
				var got []string
				for _, i := range info.Imports {
					got = append(got, i.String())
				}
				if s := strings.Join(got, ", "); s != "function wasi_snapshot_preview1.proc_exit, memory env.mem, table env.tab, global env.g" {
					t.Errorf("imports %s", s)
				}
				if info.Functions != 2 {
					t.Errorf("functions %d, want 2", info.Functions)
				}
				if e, ok := info.Export("_start"); !ok || e.Index != 1 || e.Type.String() != "()" {
					t.Errorf("export _start %+v, %v", e, ok)
				}
				if e, _ := info.Export("exit"); e.Type.String() != "(param i32)" {
					t.Errorf("export exit has type %v", e.Type)
				}
				if m := info.Memories; len(m) != 1 || m[0] != (Memory{Min: 1, Max: 2, HasMax: true, Imported: true}) {
					t.Errorf("memories %+v", m)
				}
				if tb := info.Tables; len(tb) != 1 || tb[0] != (Table{Min: 3, Max: 4, HasMax: true, Imported: true}) {
					t.Errorf("tables %+v", tb)
				}
			},
		},
		{
			name:  "too many imports",
			wasm:  simple(map[byte][]byte{secImport: vec(cat(wasi("a"), []byte{0}, uleb(0)), cat(wasi("b"), []byte{0}, uleb(0)))}),
			lim:   Limits{MaxImports: 1},
			limit: "MaxImports",
		},
		{
			name:  "too many exports",
			wasm:  simple(map[byte][]byte{secExport: vec(cat(name("a"), []byte{0}, uleb(0)), cat(name("b"), []byte{0}, uleb(0)))}, body()),
			lim:   Limits{MaxExports: 1},
			limit: "MaxExports",
		},
		{name: "200k functions", wasm: moduletest.ManyFunctions(200_000), limit: "MaxFunctions"},
		{
			name: "100k functions",
			wasm: moduletest.ManyFunctions(100_000),
			check: func(t *testing.T, info *Info) {
				if info.Functions != 100_000 || info.CodeBytes < 300_000 {
					t.Errorf("functions %d, code bytes %d", info.Functions, info.CodeBytes)
				}
			},
		},
		{name: "too much code", wasm: moduletest.ManyFunctions(100), lim: Limits{MaxCodeBytes: 100}, limit: "MaxCodeBytes"},
		{name: "too many bytes", wasm: moduletest.ManyFunctions(100), lim: Limits{MaxBytes: 100}, limit: "MaxBytes"},
		{
			name: "a table without a maximum that never grows",
			wasm: simple(map[byte][]byte{secTable: vec(table(5865, -1))}, body()),
			check: func(t *testing.T, info *Info) {
				if tb := info.Tables; len(tb) != 1 || tb[0] != (Table{Min: 5865}) {
					t.Errorf("tables %+v", tb)
				}
			},
		},
		{
			name:  "table bomb: table.grow of a table without a maximum",
			wasm:  simple(map[byte][]byte{secTable: vec(table(1, -1))}, tableGrow(0xF0000000)),
			limit: "MaxTableElements",
		},
		{
			name:  "table.grow of a table with a large maximum",
			wasm:  simple(map[byte][]byte{secTable: vec(table(1, 1<<21))}, tableGrow(1)),
			limit: "MaxTableElements",
		},
		{
			name: "table.grow of a table with a small maximum",
			wasm: simple(map[byte][]byte{secTable: vec(table(1, 1024))}, tableGrow(0xF0000000)),
			check: func(t *testing.T, info *Info) {
				if tb := info.Tables; len(tb) != 1 || !tb[0].Grows {
					t.Errorf("tables %+v", tb)
				}
			},
		},
		{
			name:  "many tables, each within the cap, too large together",
			wasm:  simple(map[byte][]byte{secTable: vec(table(1<<20, -1), table(1<<20, -1), table(1, -1))}),
			limit: "MaxTableElements",
		},
		{
			name:  "a growing table whose maximum takes the cap, and a small one",
			wasm:  simple(map[byte][]byte{secTable: vec(table(1, 1<<20), table(1, -1))}, tableGrow(1)),
			limit: "MaxTableElements",
		},
		{
			name: "tables together within the cap",
			wasm: simple(map[byte][]byte{secTable: vec(table(1<<19, -1), table(1<<18, 1<<18))}),
			check: func(t *testing.T, info *Info) {
				if len(info.Tables) != 2 {
					t.Errorf("tables %+v", info.Tables)
				}
			},
		},
		{
			name:  "a huge initial table",
			wasm:  simple(map[byte][]byte{secTable: vec(table(0xF0000000, -1))}),
			limit: "MaxTableElements",
		},
		{
			name: "the bytes of table.grow inside an immediate",
			// i32.const 2044 is 41 fc 0f: no table.grow.
			wasm: simple(map[byte][]byte{secTable: vec(table(1, -1))}, body(0x41, 0xfc, 0x0f, 0x1a)),
			check: func(t *testing.T, info *Info) {
				if info.Tables[0].Grows {
					t.Error("an i32.const was taken for table.grow")
				}
			},
		},
		{
			name: "table.grow of a table that does not exist",
			wasm: simple(nil, tableGrow(1)),
			err:  "table.grow of table 0, which does not exist",
		},
		{name: "too many tables", wasm: simple(map[byte][]byte{secTable: vec(table(1, 1), table(1, 1))}), lim: Limits{MaxTables: 1}, limit: "MaxTables"},
		{name: "two memories", wasm: simple(map[byte][]byte{secMemory: vec([]byte{0, 1}, []byte{0, 1})}), err: "a second memory is not supported"},
		{
			name: "an imported memory and a defined one",
			wasm: simple(map[byte][]byte{
				secImport: vec(cat(name("env"), name("mem"), []byte{2, 0}, uleb(1))),
				secMemory: vec([]byte{0, 1}),
			}),
			err: "a second memory is not supported",
		},
		{
			name: "two imported memories",
			wasm: simple(map[byte][]byte{secImport: vec(
				cat(name("env"), name("a"), []byte{2, 0}, uleb(1)),
				cat(name("env"), name("b"), []byte{2, 0}, uleb(1)))}),
			err: "a second memory is not supported",
		},
		{
			name:  "a huge initial memory",
			wasm:  simple(map[byte][]byte{secMemory: vec(cat([]byte{0}, uleb(1000)))}),
			lim:   Limits{MaxMemoryPages: 100},
			limit: "MaxMemoryPages",
		},
		{name: "a 64-bit memory", wasm: simple(map[byte][]byte{secMemory: vec([]byte{4, 1})}), err: "64-bit memories are not supported"},
		{name: "a shared memory", wasm: simple(map[byte][]byte{secMemory: vec([]byte{3, 1, 2})}), err: "shared memories are not supported"},
		{name: "a shared memory without a maximum", wasm: simple(map[byte][]byte{secMemory: vec([]byte{2, 1})}), err: "shared memories are not supported"},
		{
			name: "an imported shared memory",
			wasm: simple(map[byte][]byte{secImport: vec(cat(name("env"), name("mem"), []byte{2, 3}, uleb(1), uleb(2)))}),
			err:  "shared memories are not supported",
		},
		{name: "maximum below minimum", wasm: simple(map[byte][]byte{secMemory: vec([]byte{1, 2, 1})}), err: "smaller than minimum"},
		{
			name:  "four billion locals",
			wasm:  simple(nil, bodyWithLocals(vec(cat(uleb(0xFFFFFFFF), []byte{0x7e})))),
			limit: "MaxLocals",
		},
		{
			name: "locals within the limit",
			wasm: simple(nil, bodyWithLocals(vec(cat(uleb(100), []byte{0x7e}), cat(uleb(10), []byte{0x7f})))),
		},
		// The sandbox adds a global and a local to each function before
		// an engine validates the code: an index past the module's own
		// would then name them.
		{
			name: "the last local and global",
			wasm: simple(map[byte][]byte{
				secImport: vec(cat(name("env"), name("g"), []byte{3, 0x7f, 1})),
				secGlobal: vec([]byte{0x7f, 1, 0x41, 0, 0x0b}),
			}, bodyWithLocals(vec(cat(uleb(2), []byte{0x7f})), 0x20, 1, 0x24, 1, 0x23, 0, 0x21, 0)),
		},
		{name: "global.set of a global that does not exist", wasm: simple(nil, body(0x41, 0, 0x24, 0)), err: "global 0 does not exist"},
		{
			name: "global.get past the imported and defined globals",
			wasm: simple(map[byte][]byte{
				secImport: vec(cat(name("env"), name("g"), []byte{3, 0x7f, 0})),
				secGlobal: vec([]byte{0x7f, 1, 0x41, 0, 0x0b}),
			}, body(0x23, 2, 0x1a)),
			err: "global 2 does not exist",
		},
		{
			name: "a global's initializer reading itself",
			wasm: simple(map[byte][]byte{secGlobal: vec([]byte{0x7f, 0, 0x23, 0, 0x0b})}),
			err:  "global 0 does not exist",
		},
		{name: "local.get in a function with no locals", wasm: simple(nil, body(0x20, 0, 0x1a)), err: "local 0 does not exist"},
		{name: "local.get of a parameter", wasm: withParam(body(0x20, 0, 0x1a))},
		{name: "local.get past the parameters", wasm: withParam(body(0x20, 1, 0x1a)), err: "local 1 does not exist"},
		{
			name: "local.set past the declared locals",
			wasm: simple(nil, bodyWithLocals(vec(cat(uleb(2), []byte{0x7e})), 0x42, 0, 0x21, 2)),
			err:  "local 2 does not exist",
		},
		{
			name: "local.tee past the declared locals",
			wasm: simple(nil, bodyWithLocals(vec(cat(uleb(1), []byte{0x7f})), 0x41, 0, 0x22, 1, 0x1a)),
			err:  "local 1 does not exist",
		},
		{
			name: "local.get in a data segment's offset",
			wasm: simple(map[byte][]byte{secMemory: vec([]byte{0, 1}), secData: vec(cat([]byte{0, 0x20, 0, 0x0b}, vec()))}, body()),
			err:  "local 0 does not exist",
		},
		{
			name: "every kind of immediate",
			wasm: simple(map[byte][]byte{
				secTable:  vec(table(2, 2)),
				secMemory: vec([]byte{0, 1}),
				secGlobal: vec(cat([]byte{0x7e, 1, 0x42}, sleb(-1<<40), []byte{0x0b})),
			}, body(
				0x02, 0x40, // block
				0x03, 0x7f, // loop (result i32)
				0x41, 0x00, 0x0d, 0x00, // i32.const 0, br_if 0
				0x41, 0x00, 0x0e, 0x02, 0x00, 0x01, 0x00, // br_table 0 1 0
				0x0b,                                                                   // end loop
				0x1a,                                                                   // drop
				0x0b,                                                                   // end block
				0x42, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7f, 0x1a, // i64.const min, drop
				0x43, 0x0b, 0x0b, 0x0b, 0x0b, 0x1a, // f32.const with end bytes, drop
				0x44, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x1a, // f64.const, drop
				0x41, 0x00, 0x28, 0x02, 0x80, 0x08, 0x1a, // i32.load offset=1024, drop
				0xfd, 0x0c, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x1a, // v128.const, drop
				0xfc, 0x0b, 0x00, // memory.fill 0 (operands omitted: not type-checked)
				0xfc, 0x0e, 0x00, 0x01, // table.copy 0 1
				0xfe, 0x03, 0x00, // atomic.fence
				0xd0, 0x70, 0x1a, // ref.null func, drop
				0x1c, 0x01, 0x7f, // select (result i32)
				0x11, 0x00, 0x00, // call_indirect 0 0
			)),
			check: func(t *testing.T, info *Info) {
				if info.Tables[0].Grows {
					t.Error("table.copy was taken for table.grow")
				}
			},
		},
		{name: "exception handling", wasm: simple(nil, body(0x06, 0x40, 0x0b)), err: "opcode 0x06 is not supported"},
		{name: "an unknown 0xfc instruction", wasm: simple(nil, body(0xfc, 0x20)), err: "opcode 0xfc 32 is not supported"},
		{name: "a block type that does not exist", wasm: simple(nil, body(0x02, 0x05, 0x0b)), err: "block type 5 does not exist"},
		{name: "a body without end", wasm: simple(nil, cat(uleb(2), vec(), []byte{0x01})), err: "expression has no end"},
		{name: "bytes after the end", wasm: simple(nil, cat(uleb(4), vec(), []byte{0x0b, 0x01, 0x01})), err: "after the end of function 0"},
		{
			name: "functions without code",
			wasm: wasmModule(section(secType, vec(funcType(nil, nil))), section(secFunction, vec(uleb(0)))),
			err:  "no code section",
		},
		{
			name: "bodies and functions disagree",
			wasm: wasmModule(section(secType, vec(funcType(nil, nil))), section(secFunction, vec(uleb(0))), section(secCode, vec())),
			err:  "0 function bodies for 1 functions",
		},
		{name: "a huge count", wasm: wasmModule(section(secType, uleb(0xFFFFFFFF))), err: "more than the 0 bytes left can hold"},
		{name: "an overlong integer", wasm: wasmModule(section(secType, []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x00})), err: "integer is too long"},
		{name: "a name that is not UTF-8", wasm: wasmModule(section(secCustom, name("\xff"))), err: "not valid UTF-8"},
		{
			name: "element and data segments",
			wasm: simple(map[byte][]byte{
				secTable:     vec(table(4, 4)),
				secMemory:    vec([]byte{0, 1}),
				secElement:   vec(cat(uleb(0), []byte{0x41, 0, 0x0b}, vec(uleb(0))), cat(uleb(5), []byte{0x70}, vec([]byte{0xd2, 0, 0x0b}))),
				secDataCount: uleb(2),
				secData:      vec(cat(uleb(0), []byte{0x41, 8, 0x0b}, name("hi")), cat(uleb(1), name("passive"))),
			}, body()),
		},
		{
			name: "data count disagrees",
			wasm: simple(map[byte][]byte{secMemory: vec([]byte{0, 1}), secDataCount: uleb(2), secData: vec(cat(uleb(1), name("x")))}),
			err:  "data count 2, but 1 data segments",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := Validate(tt.wasm, tt.lim)
			var le *LimitError
			var fe *FormatError
			switch {
			case tt.limit != "":
				if !errors.As(err, &le) || le.Limit != tt.limit || !strings.Contains(err.Error(), tt.limit) {
					t.Fatalf("Validate error %v, want a LimitError naming %s", err, tt.limit)
				}
			case tt.err != "":
				if !errors.As(err, &fe) || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Validate error %v, want a FormatError containing %q", err, tt.err)
				}
			case err != nil:
				t.Fatalf("Validate: %v", err)
			}
			if (err == nil) != (info != nil) {
				t.Errorf("info %v with error %v", info, err)
			}
			if tt.check != nil && info != nil {
				tt.check(t, info)
			}
		})
	}
}

func TestLimitsDefaults(t *testing.T) {
	if got := (Limits{}).WithDefaults(); got != DefaultLimits() {
		t.Errorf("zero Limits = %+v, want the defaults %+v", got, DefaultLimits())
	}
	l := Limits{MaxFunctions: 5, MaxTableElements: 7}.WithDefaults()
	if l.MaxFunctions != 5 || l.MaxTableElements != 7 || l.MaxBytes != DefaultLimits().MaxBytes {
		t.Errorf("withDefaults kept the wrong fields: %+v", l)
	}
}

func TestErrorMessages(t *testing.T) {
	_, err := Validate(moduletest.ManyFunctions(200_000), Limits{})
	if want := "module: 200000 functions exceeds the limit MaxFunctions = 100000"; err == nil || err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	_, err = Validate([]byte("nope"), Limits{})
	if want := "module: at byte 0: invalid magic number"; err == nil || err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
}

func TestLEB(t *testing.T) {
	for _, v := range []int64{0, 1, -1, 63, 64, -64, -65, 2044, 1 << 31, -1 << 31, 1<<63 - 1, -1 << 63} {
		r := &reader{b: sleb(v)}
		if got := r.sleb(64); got != v || r.err != nil || !r.done() {
			t.Errorf("sleb(%d) read back as %d, %v", v, got, r.err)
		}
	}
	for _, v := range []uint64{0, 1, 127, 128, 1<<32 - 1} {
		r := &reader{b: uleb(v)}
		if got := r.u32(); uint64(got) != v || r.err != nil {
			t.Errorf("uleb(%d) read back as %d, %v", v, got, r.err)
		}
	}
	for _, b := range [][]byte{uleb(1 << 32), {0x80, 0x80, 0x80, 0x80, 0x80, 0}} {
		if r := (&reader{b: b}); r.u32() != 0 || r.err == nil {
			t.Errorf("u32 of % x: no error", b)
		}
	}
	if r := (&reader{b: sleb(1 << 31)}); r.sleb(32) != 0 || r.err == nil {
		t.Error("sleb(32) of 1<<31: no error")
	}
	if r := (&reader{b: sleb(-1 << 31)}); r.sleb(32) != -1<<31 || r.err != nil {
		t.Errorf("sleb(32) of -1<<31: %v", r.err)
	}
}
