package module

import (
	"bytes"
	"fmt"
)

// Section ids, and the order in which sections must appear (custom
// sections, id 0, may appear anywhere).
const (
	secCustom    = 0
	secType      = 1
	secImport    = 2
	secFunction  = 3
	secTable     = 4
	secMemory    = 5
	secGlobal    = 6
	secExport    = 7
	secStart     = 8
	secElement   = 9
	secCode      = 10
	secData      = 11
	secDataCount = 12
	secTag       = 13
)

var sectionOrder = map[byte]int{
	secType: 1, secImport: 2, secFunction: 3, secTable: 4, secMemory: 5,
	secTag: 6, secGlobal: 7, secExport: 8, secStart: 9, secElement: 10,
	secDataCount: 11, secCode: 12, secData: 13,
}

var magic = []byte{0x00, 'a', 's', 'm'}

// Validate checks that wasm is a WebAssembly module within lim and
// describes it. Zero fields of lim mean their defaults (DefaultLimits).
//
// It returns a *LimitError when the module exceeds a limit, and a
// *FormatError when it is malformed or uses a feature Validate does not
// decode (see the package documentation). wasm may come from anyone:
// Validate never panics, and allocates in proportion to len(wasm) at
// most. It does not retain wasm.
func Validate(wasm []byte, lim Limits) (*Info, error) {
	lim = lim.WithDefaults()
	if err := over("MaxBytes", uint64(len(wasm)), uint64(lim.MaxBytes), "a binary of %d bytes", len(wasm)); err != nil {
		return nil, err
	}
	if len(wasm) < 8 || !bytes.Equal(wasm[:4], magic) {
		return nil, &FormatError{Msg: "invalid magic number"}
	}
	if v := wasm[4:8]; !bytes.Equal(v, []byte{1, 0, 0, 0}) {
		return nil, &FormatError{Offset: 4, Msg: fmt.Sprintf("unsupported version % x (components are not modules)", v)}
	}
	v := &validator{lim: lim, info: &Info{}, checkIndices: true}
	if err := v.sections(&reader{b: wasm, i: 8}); err != nil {
		return nil, err
	}
	if err := v.finish(); err != nil {
		return nil, err
	}
	return v.info, nil
}

// validator holds what one Validate has learnt so far.
type validator struct {
	lim  Limits
	info *Info
	wasm []byte

	types     [][]byte    // each type's encoding, from its form byte; a view of wasm
	decoded   []*FuncType // types decoded for Info, shared by its imports and exports
	funcTypes []uint32    // type index of each function, imported and defined
	imported  int         // imported functions
	codeSeen  bool
	dataCount int // -1 when there is no data count section
	dataSeen  int

	// checkIndices makes expr refuse a local or global index past those
	// that exist: globals, the module's so far, and frame, the locals
	// (parameters included) of the function being decoded, 0 in a
	// constant expression. Validate sets it; WalkCode, which decodes a
	// body out of its module, does not.
	checkIndices bool
	globals      int
	frame        uint64

	// visit, when set, is called by expr with each instruction it
	// decodes: its first byte and where it starts and ends.
	visit func(op byte, start, end int)
}

// sections decodes every section of the module.
func (v *validator) sections(r *reader) error {
	v.wasm = r.b
	v.dataCount = -1
	last := 0
	for !r.done() {
		start := r.i
		id := r.byte()
		size := r.u32()
		s := r.sub(int(size))
		if r.err != nil {
			return r.err
		}
		if id != secCustom {
			rank, ok := sectionOrder[id]
			if !ok {
				return &FormatError{Offset: start, Msg: fmt.Sprintf("unknown section id %d", id)}
			}
			if rank <= last {
				return &FormatError{Offset: start, Msg: fmt.Sprintf("section %d is out of order or repeated", id)}
			}
			last = rank
		}
		if err := v.section(id, s); err != nil {
			return err
		}
		if s.err == nil && !s.done() {
			s.fail("%d bytes left at the end of section %d", s.left(), id)
		}
		if s.err != nil {
			return s.err
		}
	}
	return r.err
}

// section decodes one section. A limit exceeded is returned at once when
// going on would allocate in proportion to it.
func (v *validator) section(id byte, r *reader) error {
	switch id {
	case secCustom:
		r.name()
		r.skip(r.left())
	case secType:
		v.typeSection(r)
	case secImport:
		return v.importSection(r)
	case secFunction:
		return v.functionSection(r)
	case secTable:
		for n := r.count(3, "tables"); n > 0 && r.err == nil; n-- {
			v.info.Tables = append(v.info.Tables, v.tableType(r))
			if err := v.checkCount("MaxTables", len(v.info.Tables), v.lim.MaxTables, "tables"); err != nil {
				return err
			}
		}
	case secMemory:
		for n := r.count(2, "memories"); n > 0 && r.err == nil; n-- {
			start := r.i
			v.addMemory(r, start, v.memoryType(r))
		}
	case secGlobal:
		for n := r.count(3, "globals"); n > 0 && r.err == nil; n-- {
			v.globalType(r)
			v.expr(r)
			v.globals++ // after its initializer, which may not read it
		}
	case secExport:
		return v.exportSection(r)
	case secStart:
		r.u32()
	case secElement:
		v.elementSection(r)
	case secDataCount:
		v.dataCount = int(r.u32())
	case secCode:
		return v.codeSection(r)
	case secData:
		v.dataSection(r)
	case secTag:
		r.fail("exception handling is not supported")
	}
	return nil
}

// finish checks what needs the whole module.
func (v *validator) finish() error {
	defined := len(v.funcTypes) - v.imported
	if defined > 0 && !v.codeSeen {
		return &FormatError{Offset: len(v.wasm), Msg: fmt.Sprintf("%d functions declared and no code section", defined)}
	}
	if v.dataCount >= 0 && v.dataCount != v.dataSeen {
		return &FormatError{Offset: len(v.wasm), Msg: fmt.Sprintf("data count %d, but %d data segments", v.dataCount, v.dataSeen)}
	}
	v.info.Functions = len(v.funcTypes)
	v.info.Types = len(v.types)
	max := uint64(v.lim.MaxTableElements)
	var total uint64 // what the tables may hold in all
	for i, t := range v.info.Tables {
		if err := over("MaxTableElements", t.Min, max, "table %d's initial size of %d elements", i, t.Min); err != nil {
			return err
		}
		if !t.Grows {
			total += t.Min
			continue
		}
		total += min(t.Max, max+1) // an unchecked maximum is refused just below
		if !t.HasMax {
			return &LimitError{Limit: "MaxTableElements", Max: max,
				msg: fmt.Sprintf("table %d grows (table.grow) and declares no maximum, which", i)}
		}
		if err := over("MaxTableElements", t.Max, max, "table %d grows (table.grow) to a declared maximum of %d elements, which", i, t.Max); err != nil {
			return err
		}
	}
	// Each table within the cap, many tables could still hold 100 times
	// it, in host memory that no linear-memory limit counts.
	if err := over("MaxTableElements", total, max, "the %d tables' %d elements in all (initial sizes, and maximums of tables that grow)", len(v.info.Tables), total); err != nil {
		return err
	}
	for i, m := range v.info.Memories {
		if err := over("MaxMemoryPages", m.Min, uint64(v.lim.MaxMemoryPages), "memory %d's initial size of %d pages", i, m.Min); err != nil {
			return err
		}
	}
	return nil
}
