package sandbox

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/mezzo-cluster/mezzo/api/module"
)

// wazero keeps a guest's call stack in a Go slice that it doubles until
// it passes 50 MB, so that a runaway recursion traps only when the stack
// is 84 MB, with the 42 MB one beside it while it is copied: about 170
// MB of host memory. No setting lowers that, so a module compiled for
// wazero bounds its own stack: boundStack makes each function add an
// estimate of its frame to a global on entry, and trap past stackBudget.
// See RATIONALE.md, "Why does wazero code count its own stack?".
const (
	// stackBudget is how many bytes of frames, as frameCost estimates
	// them, a wazero guest may have on its stack at once. It lets
	// ordinary recursion go about as deep as wasmtime's default
	// max_wasm_stack of 512 KiB does (RATIONALE.md has the depths), and
	// keeps wazero's real stack under 10.5 MB even for frames five times
	// larger than estimated, below the sizes whose doubling costs tens of
	// MB (TestDeepRecursionMemory measures it).
	stackBudget = 2 << 20

	// frameBase is what every call costs besides its values: return
	// address, saved frame pointer, the counter's local, alignment,
	// with room to spare.
	frameBase = 64
	// slotBytes is the cost of each parameter, result and local, as a
	// spill slot; v128 values count twice.
	slotBytes = 8

	// stackExportName is the export of the stack counter, by which the
	// host tells stack exhaustion from the guest's own traps; a module
	// that already exports the name gets a suffix.
	stackExportName = "mezzo:stack"
)

// errStackExhausted is a guest's trap when its call stack passed
// stackBudget; wasmtime says the same for its own limit.
var errStackExhausted = errors.New("call stack exhausted")

// boundedModule is a module instrumented by boundStack.
type boundedModule struct {
	// wasm is the instrumented binary.
	wasm []byte
	// export names the exported i32 global that holds the estimated
	// bytes of frames on the stack. After a trap it is above the budget
	// if and only if the trap was the stack's.
	export string
}

// boundStack returns wasm instrumented so that its functions trap once
// their frames, as frameCost estimates them, pass budget bytes in all.
//
// It adds a mutable i32 global, the counter, and exports it. Each
// defined function gets a local that holds the counter's value for its
// frame, and a prologue that adds the function's cost to the counter,
// keeps the sum in that local, and traps with unreachable if it exceeds
// budget. After each call to a defined function, call_indirect and
// call_ref, the caller sets the counter back to its own value from the
// local, so that no exit of the callee (end, return, a branch out of
// the function, a trap caught nowhere) needs code of its own; before a
// tail call (return_call...), it sets the counter back to its value on
// entry, so that tail recursion is not counted as depth (wazero refuses
// tail calls unless they are enabled, which the sandbox does not do, but
// the instrumentation does not depend on it). Imported
// functions (the host's) are not counted. Function indices and types do
// not change, so calls, exports, element segments, ref.func and the
// start function are untouched; the host's calls leave the counter at
// the cost of the function they called.
//
// wasm must be a module that module.Validate accepted as info; boundStack
// returns an error rather than panic on one it did not. budget must be
// below 2^31, so that the counter never wraps.
func boundStack(wasm []byte, info *module.Info, budget uint32) (*boundedModule, error) {
	if budget >= 1<<31 {
		return nil, fmt.Errorf("bound the call stack: budget %d is not below 2^31", budget)
	}
	secs, err := splitSections(wasm)
	if err != nil {
		return nil, fmt.Errorf("bound the call stack: %w", err)
	}
	b := &stackBounder{budget: budget, info: info}
	for _, imp := range info.Imports {
		switch imp.Kind {
		case module.KindFunction:
			b.importedFuncs++
		case module.KindGlobal:
			b.globals++
		}
	}
	if err := b.read(secs); err != nil {
		return nil, fmt.Errorf("bound the call stack: %w", err)
	}
	b.export = uniqueExport(info, stackExportName)
	out, err := b.write(wasm[:8], secs)
	if err != nil {
		return nil, fmt.Errorf("bound the call stack: %w", err)
	}
	return &boundedModule{wasm: out, export: b.export}, nil
}

// stackBounder holds what boundStack learns of a module.
type stackBounder struct {
	budget        uint32
	info          *module.Info
	importedFuncs int
	globals       int      // imported and defined; the counter's index
	typeSlots     []uint32 // each type's parameter and result slots
	typeParams    []uint32 // each type's parameters
	funcTypes     []uint32 // each defined function's type
	export        string
}

// read decodes the types and the defined functions' types, and counts
// the globals.
func (b *stackBounder) read(secs []rawSection) error {
	for _, s := range secs {
		r := &wasmReader{b: s.payload}
		switch s.id {
		case typeSection:
			b.readTypes(r)
		case functionSection:
			for n := r.count(); n > 0 && r.err == nil; n-- {
				b.funcTypes = append(b.funcTypes, uint32(r.uleb()))
			}
		case globalSection:
			b.globals += r.count()
		}
		if r.err != nil {
			return fmt.Errorf("section %d: %w", s.id, r.err)
		}
	}
	return nil
}

func (b *stackBounder) readTypes(r *wasmReader) {
	for n := r.count(); n > 0 && r.err == nil; n-- {
		if form := r.byte(); form != 0x60 && r.err == nil {
			r.err = fmt.Errorf("type form 0x%x is not a function type", form)
		}
		params := r.count()
		slots := uint32(params) + r.valueSlots(params)
		results := r.count()
		slots += uint32(results) + r.valueSlots(results)
		b.typeParams = append(b.typeParams, uint32(params))
		b.typeSlots = append(b.typeSlots, slots)
	}
}

// frameCost estimates, in bytes, what one call of a function puts on
// wazero's stack: frameBase, slotBytes for each slot of its parameters
// and results (slots) and of its locals (locals), and a byte for each
// byte of its code, for the values its instructions keep live across calls besides
// its locals (wazero gives each value it spills a slot of its own, and
// an instruction of a byte or two can make one). It is on the high side
// for compiled code, whose values live in locals; a module written to
// keep many values on its operand stack across calls can have frames up
// to 5 times larger (RATIONALE.md has the measurements). The cost is
// capped at limit.
func frameCost(slots, locals uint64, code int, limit uint32) uint32 {
	cost := frameBase + slotBytes*(slots+locals) + uint64(code)
	return uint32(min(cost, uint64(limit)))
}

// write assembles the instrumented module: header, then the sections
// with the global, export and code sections changed or added.
func (b *stackBounder) write(header []byte, secs []rawSection) ([]byte, error) {
	out := append([]byte(nil), header...)
	needGlobal, needExport := true, true
	for _, s := range secs {
		rank := sectionRank[s.id]
		if needGlobal && s.id != customSection && rank > sectionRank[globalSection] {
			out = appendSection(out, globalSection, b.globalPayload(nil))
			needGlobal = false
		}
		if needExport && s.id != customSection && rank > sectionRank[exportSection] {
			out = appendSection(out, exportSection, b.exportPayload(nil))
			needExport = false
		}
		payload := s.payload
		var err error
		switch s.id {
		case globalSection:
			payload, err = b.globalPayload(s.payload), nil
			needGlobal = false
		case exportSection:
			payload, err = b.exportPayload(s.payload), nil
			needExport = false
		case codeSection:
			payload, err = b.codePayload(s.payload)
		}
		if err != nil {
			return nil, fmt.Errorf("section %d: %w", s.id, err)
		}
		out = appendSection(out, s.id, payload)
	}
	if needGlobal {
		out = appendSection(out, globalSection, b.globalPayload(nil))
	}
	if needExport {
		out = appendSection(out, exportSection, b.exportPayload(nil))
	}
	return out, nil
}

// globalPayload adds the counter, a mutable i32 that starts at 0, after
// the module's globals. p is the module's global section, nil if none.
func (b *stackBounder) globalPayload(p []byte) []byte {
	counter := []byte{0x7f, 0x01, 0x41, 0x00, 0x0b} // mut i32 (i32.const 0)
	if p == nil {
		return append([]byte{1}, counter...)
	}
	r := wasmReader{b: p}
	n := r.count()
	out := appendULEB(nil, uint64(n+1))
	out = append(out, p[r.i:]...)
	return append(out, counter...)
}

// exportPayload adds the counter's export. p is the module's export
// section, nil if none.
func (b *stackBounder) exportPayload(p []byte) []byte {
	entry := appendULEB(nil, uint64(len(b.export)))
	entry = append(entry, b.export...)
	entry = append(entry, byte(module.KindGlobal))
	entry = appendULEB(entry, uint64(b.globals))
	if p == nil {
		return append([]byte{1}, entry...)
	}
	r := wasmReader{b: p}
	n := r.count()
	out := appendULEB(nil, uint64(n+1))
	out = append(out, p[r.i:]...)
	return append(out, entry...)
}

// codePayload instruments every function body.
func (b *stackBounder) codePayload(p []byte) ([]byte, error) {
	r := wasmReader{b: p}
	n := r.count()
	if r.err == nil && n != len(b.funcTypes) {
		r.err = fmt.Errorf("%d function bodies for %d functions", n, len(b.funcTypes))
	}
	out := appendULEB(make([]byte, 0, len(p)+len(p)/4), uint64(n))
	var body []byte
	for i := 0; i < n && r.err == nil; i++ {
		size := r.uleb()
		if r.err == nil && size > uint64(len(r.b)-r.i) {
			r.err = errTruncated
		}
		if r.err != nil {
			break
		}
		var err error
		if body, err = b.body(body[:0], b.funcTypes[i], r.b[r.i:r.i+int(size)]); err != nil {
			return nil, fmt.Errorf("function %d: %w", b.importedFuncs+i, err)
		}
		out = appendULEB(out, uint64(len(body)))
		out = append(out, body...)
		r.i += int(size)
	}
	if r.err != nil {
		return nil, r.err
	}
	return out, nil
}

// The opcodes boundStack writes or looks for.
const (
	opUnreachable        = 0x00
	opIf                 = 0x04
	opEnd                = 0x0b
	opCall               = 0x10
	opCallIndirect       = 0x11
	opReturnCall         = 0x12
	opReturnCallIndirect = 0x13
	opCallRef            = 0x14
	opReturnCallRef      = 0x15
	opLocalGet           = 0x20
	opLocalTee           = 0x22
	opGlobalGet          = 0x23
	opGlobalSet          = 0x24
	opI32Const           = 0x41
	opI32GtU             = 0x4b
	opI32Add             = 0x6a
	opI32Sub             = 0x6b
	blockEmpty           = 0x40
	valueI32             = 0x7f
)

// body appends to w the instrumented form of a function body of type
// t: its local declarations and one more i32, $sp, then, in the text
// format,
//
//	(global.set $counter (local.tee $sp (i32.add (global.get $counter) (i32.const cost))))
//	(if (i32.gt_u (local.get $sp) (i32.const budget)) (then unreachable))
//
// then its code, with (global.set $counter (local.get $sp)) after each
// call of a defined function, call_indirect and call_ref, and
// (global.set $counter (i32.sub (local.get $sp) (i32.const cost)))
// before each tail call.
func (b *stackBounder) body(w []byte, t uint32, body []byte) ([]byte, error) {
	if int(t) >= len(b.typeSlots) {
		return nil, fmt.Errorf("type %d does not exist", t)
	}
	r := wasmReader{b: body}
	decls := r.count()
	declared := r.i          // where the declarations start
	var locals, slots uint64 // v128 locals take two slots
	for k := decls; k > 0 && r.err == nil; k-- {
		c := r.uleb()
		locals += c
		slots += c + r.valueSlots1(c)
	}
	if r.err != nil {
		return nil, r.err
	}
	code := body[r.i:]
	cost := int64(frameCost(uint64(b.typeSlots[t]), slots, len(code), b.budget+1))
	g := uint64(b.globals)
	sp := uint64(b.typeParams[t]) + locals
	if sp >= 1<<32-1 {
		return nil, fmt.Errorf("%d locals", sp)
	}

	w = appendULEB(w, uint64(decls+1))
	w = append(w, body[declared:r.i]...)
	w = append(w, 1, valueI32)
	w = appendULEB(append(w, opGlobalGet), g)
	w = appendSLEB(append(w, opI32Const), cost)
	w = append(w, opI32Add)
	w = appendULEB(append(w, opLocalTee), sp)
	w = appendULEB(append(w, opGlobalSet), g)
	w = appendULEB(append(w, opLocalGet), sp)
	w = appendSLEB(append(w, opI32Const), int64(b.budget))
	w = append(w, opI32GtU, opIf, blockEmpty, opUnreachable, opEnd)

	copied := 0
	err := module.WalkCode(code, b.info, func(op byte, start, end int) {
		switch {
		case op == opReturnCall || op == opReturnCallIndirect || op == opReturnCallRef:
			w = append(w, code[copied:start]...)
			copied = start
			w = appendULEB(append(w, opLocalGet), sp)
			w = appendSLEB(append(w, opI32Const), cost)
			w = append(w, opI32Sub)
			w = appendULEB(append(w, opGlobalSet), g)
		case op == opCall && b.callsImport(code[start+1:end]):
		case op == opCall || op == opCallIndirect || op == opCallRef:
			w = append(w, code[copied:end]...)
			copied = end
			w = appendULEB(append(w, opLocalGet), sp)
			w = appendULEB(append(w, opGlobalSet), g)
		}
	})
	if err != nil {
		return nil, err
	}
	return append(w, code[copied:]...), nil
}

// callsImport says whether imm, a call's immediate, is an imported
// function's index.
func (b *stackBounder) callsImport(imm []byte) bool {
	r := wasmReader{b: imm}
	return r.uleb() < uint64(b.importedFuncs) && r.err == nil
}

// uniqueExport returns name, or name with a numeric suffix if the module
// already exports something by that name.
func uniqueExport(info *module.Info, name string) string {
	taken := make(map[string]bool, len(info.Exports))
	for _, e := range info.Exports {
		taken[e.Name] = true
	}
	try := name
	for k := 1; taken[try]; k++ {
		try = name + "-" + strconv.Itoa(k)
	}
	return try
}

// valueSlots reads n value types and returns how many of them are v128,
// which take two slots.
func (r *wasmReader) valueSlots(n int) uint32 {
	var wide uint32
	for ; n > 0 && r.err == nil; n-- {
		if r.byte() == 0x7b {
			wide++
		}
	}
	return wide
}

// valueSlots1 reads one value type, declared c times, and returns c if it
// is v128.
func (r *wasmReader) valueSlots1(c uint64) uint64 {
	if r.byte() == 0x7b {
		return c
	}
	return 0
}
