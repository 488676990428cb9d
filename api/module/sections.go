package module

import "errors"

// The decoders of each section, and of the types they hold. Each reads
// from r, whose first error sticks; those that return an error return a
// limit exceeded.

func (v *validator) checkCount(limit string, n, max int, what string) error {
	return over(limit, uint64(n), uint64(max), "%d %s", n, what)
}

func (v *validator) typeSection(r *reader) {
	n := r.count(3, "types")
	v.types = make([][]byte, 0, n)
	v.decoded = make([]*FuncType, n)
	for ; n > 0 && r.err == nil; n-- {
		start := r.i
		if form := r.byte(); form != 0x60 && r.err == nil {
			r.i--
			r.fail("type form 0x%x is not a function type (garbage-collected types are not supported)", form)
			return
		}
		for range 2 { // parameters, then results
			for k := r.count(1, "value types"); k > 0 && r.err == nil; k-- {
				r.valueType()
			}
		}
		v.types = append(v.types, r.b[start:r.i])
	}
}

func (v *validator) importSection(r *reader) error {
	n := r.count(4, "imports")
	if err := v.checkCount("MaxImports", n, v.lim.MaxImports, "imports"); err != nil {
		return err
	}
	v.info.Imports = make([]Import, 0, n)
	for ; n > 0 && r.err == nil; n-- {
		imp := Import{Module: r.name(), Name: r.name(), Kind: Kind(r.byte())}
		switch imp.Kind {
		case KindFunction:
			t := r.u32()
			imp.Type = v.funcType(r, t)
			v.funcTypes = append(v.funcTypes, t)
			v.imported++
		case KindTable:
			t := v.tableType(r)
			t.Imported = true
			v.info.Tables = append(v.info.Tables, t)
		case KindMemory:
			start := r.i
			m := v.memoryType(r)
			m.Imported = true
			v.addMemory(r, start, m)
		case KindGlobal:
			v.globalType(r)
			v.globals++
		default:
			r.i--
			r.fail("import kind 0x%x is not supported", byte(imp.Kind))
		}
		v.info.Imports = append(v.info.Imports, imp)
	}
	return errors.Join(
		v.checkCount("MaxFunctions", len(v.funcTypes), v.lim.MaxFunctions, "functions"),
		v.checkCount("MaxTables", len(v.info.Tables), v.lim.MaxTables, "tables"))
}

func (v *validator) functionSection(r *reader) error {
	n := r.count(1, "functions")
	if err := v.checkCount("MaxFunctions", v.imported+n, v.lim.MaxFunctions, "functions"); err != nil {
		return err
	}
	v.funcTypes = append(make([]uint32, 0, v.imported+n), v.funcTypes...)
	for ; n > 0 && r.err == nil; n-- {
		t := r.u32()
		if r.err == nil && int(t) >= len(v.types) {
			r.fail("function type %d does not exist", t)
		}
		v.funcTypes = append(v.funcTypes, t)
	}
	return nil
}

func (v *validator) exportSection(r *reader) error {
	n := r.count(3, "exports")
	if err := v.checkCount("MaxExports", n, v.lim.MaxExports, "exports"); err != nil {
		return err
	}
	v.info.Exports = make([]Export, 0, n)
	for ; n > 0 && r.err == nil; n-- {
		e := Export{Name: r.name(), Kind: Kind(r.byte()), Index: r.u32()}
		if r.err != nil {
			break
		}
		switch e.Kind {
		case KindFunction:
			if int(e.Index) >= len(v.funcTypes) {
				r.fail("exported function %d does not exist", e.Index)
				break
			}
			e.Type = v.funcType(r, v.funcTypes[e.Index])
		case KindTable, KindMemory, KindGlobal:
		default:
			r.fail("export kind 0x%x is not supported", byte(e.Kind))
		}
		v.info.Exports = append(v.info.Exports, e)
	}
	return nil
}

// funcType returns type t, decoding it the first time: imports and
// exports of one type share its FuncType, so that Info's size is bounded
// by the module's.
func (v *validator) funcType(r *reader, t uint32) *FuncType {
	if r.err != nil {
		return nil
	}
	if int(t) >= len(v.types) {
		r.fail("function type %d does not exist", t)
		return nil
	}
	if f := v.decoded[t]; f != nil {
		return f
	}
	tr := &reader{b: v.types[t], i: 1} // after the form byte
	f := &FuncType{}
	v.decoded[t] = f
	for _, list := range []*[]ValueType{&f.Params, &f.Results} {
		for k := tr.count(1, "value types"); k > 0 && tr.err == nil; k-- {
			*list = append(*list, tr.valueType())
		}
	}
	return f
}

func (r *reader) valueType() ValueType {
	t := ValueType(r.byte())
	if isValueType(t) {
		return t
	}
	if r.err == nil {
		r.i--
		r.fail("value type 0x%x is not supported", byte(t))
	}
	return 0
}

func (r *reader) refType() ValueType {
	t := r.valueType()
	if r.err == nil && t != FuncRef && t != ExternRef {
		r.i--
		r.fail("%v is not a reference type", t)
	}
	return t
}

// limits decodes a limits pair, whose flags byte has been read.
func (r *reader) limits(flags byte, bits uint) (min, max uint64, hasMax bool) {
	min = r.uleb(bits)
	if flags&1 != 0 {
		max, hasMax = r.uleb(bits), true
		if r.err == nil && max < min {
			r.fail("maximum %d is smaller than minimum %d", max, min)
		}
	}
	return min, max, hasMax
}

func (v *validator) tableType(r *reader) Table {
	r.refType()
	flags := r.byte()
	if r.err == nil && flags > 1 {
		r.i--
		r.fail("table limits flags 0x%x are not supported", flags)
		return Table{}
	}
	var t Table
	t.Min, t.Max, t.HasMax = r.limits(flags, 32)
	return t
}

func (v *validator) memoryType(r *reader) Memory {
	flags := r.byte()
	if r.err != nil {
		return Memory{}
	}
	if flags&4 != 0 {
		r.i--
		r.fail("64-bit memories are not supported")
		return Memory{}
	}
	if flags > 3 {
		r.i--
		r.fail("memory limits flags 0x%x are not supported", flags)
		return Memory{}
	}
	if flags&2 != 0 {
		// A sandbox runs no threads, and wasmtime's store limiter does
		// not govern a shared memory: one grew to 512 MiB under a cap
		// of 16 MiB.
		r.i--
		r.fail("shared memories are not supported: a task has one thread, and its memory limit would not hold")
		return Memory{}
	}
	var m Memory
	m.Min, m.Max, m.HasMax = r.limits(flags, 32)
	return m
}

// addMemory adds m, which begins at start, to the module's memories, and
// refuses a second one: a task's memory limit caps and measures memory 0
// (wasmtime gave each memory the whole limit, and wazero refuses more
// than one when it compiles).
func (v *validator) addMemory(r *reader, start int, m Memory) {
	if r.err == nil && len(v.info.Memories) == 1 {
		r.i = start
		r.fail("a second memory is not supported (multiple memories): a task's memory limit covers one")
		return
	}
	v.info.Memories = append(v.info.Memories, m)
}

func (v *validator) globalType(r *reader) {
	r.valueType()
	if mut := r.byte(); r.err == nil && mut > 1 {
		r.i--
		r.fail("global mutability 0x%x is invalid", mut)
	}
}

func (v *validator) elementSection(r *reader) {
	for n := r.count(2, "element segments"); n > 0 && r.err == nil; n-- {
		flags := r.u32()
		if r.err == nil && flags > 7 {
			r.fail("element segment flags %d are invalid", flags)
			return
		}
		if flags&3 == 2 { // active with a table index
			r.u32()
		}
		if flags&1 == 0 { // active: an offset expression
			v.expr(r)
		}
		if flags&3 != 0 { // an element kind or reference type
			if flags&4 == 0 {
				if kind := r.byte(); r.err == nil && kind != 0 {
					r.fail("element kind 0x%x is invalid", kind)
				}
			} else {
				r.refType()
			}
		}
		for k := r.count(1, "elements"); k > 0 && r.err == nil; k-- {
			if flags&4 == 0 {
				r.u32() // a function index
			} else {
				v.expr(r)
			}
		}
	}
}

func (v *validator) dataSection(r *reader) {
	n := r.count(2, "data segments")
	v.dataSeen = n
	for ; n > 0 && r.err == nil; n-- {
		switch flags := r.u32(); {
		case r.err != nil:
		case flags == 0:
			v.expr(r)
		case flags == 1:
		case flags == 2:
			r.u32()
			v.expr(r)
		default:
			r.fail("data segment flags %d are invalid", flags)
		}
		r.skip(r.count(1, "bytes of data"))
	}
}

func (v *validator) codeSection(r *reader) error {
	v.codeSeen = true
	v.info.CodeBytes = len(r.b)
	if err := over("MaxCodeBytes", uint64(len(r.b)), uint64(v.lim.MaxCodeBytes), "a code section of %d bytes", len(r.b)); err != nil {
		return err
	}
	n := r.count(2, "function bodies")
	if r.err == nil && n != len(v.funcTypes)-v.imported {
		r.fail("%d function bodies for %d functions", n, len(v.funcTypes)-v.imported)
	}
	defer func() { v.frame = 0 }() // data segments' offsets have no locals
	for i := 0; i < n && r.err == nil; i++ {
		body := r.sub(int(r.u32()))
		locals, err := v.locals(body)
		if err != nil {
			return err
		}
		if t := v.funcType(r, v.funcTypes[v.imported+i]); t != nil {
			v.frame = uint64(len(t.Params)) + locals
		}
		v.expr(body)
		if body.err == nil && !body.done() {
			body.fail("%d bytes after the end of function %d", body.left(), v.imported+i)
		}
		if body.err != nil {
			return body.err
		}
	}
	return nil
}

// locals decodes a function body's local declarations and returns how
// many locals they declare.
func (v *validator) locals(r *reader) (uint64, error) {
	var sum uint64
	for n := r.count(2, "local declarations"); n > 0 && r.err == nil; n-- {
		sum += uint64(r.u32())
		r.valueType()
		if err := over("MaxLocals", sum, uint64(v.lim.MaxLocals), "a function with %d locals", sum); err != nil && r.err == nil {
			return 0, err
		}
	}
	return sum, nil
}
