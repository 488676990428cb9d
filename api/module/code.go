package module

// Immediates of single-byte opcodes, by opcode. Validate decodes every
// instruction so as to find table.grow, which a scan for its two bytes
// would find inside unrelated immediates too.
type immediate uint8

const (
	immInvalid  immediate = iota // not an opcode Validate accepts
	immNone                      // no immediate
	immBlock                     // a block type
	immEnd                       // end: closes a block or the expression
	immIndex                     // one u32 index
	immIndex2                    // two u32 indices
	immBrTable                   // a vector of labels and a default
	immMemArg                    // a memory argument
	immI32                       // a signed LEB128 i32
	immI64                       // a signed LEB128 i64
	immF32                       // 4 bytes
	immF64                       // 8 bytes
	immSelect                    // a vector of value types
	immHeapType                  // a heap type (signed LEB128 33)
	immPrefixFC                  // bulk memory, tables and saturating truncation
	immPrefixFD                  // SIMD
	immPrefixFE                  // threads
)

var opcodes = func() (t [256]immediate) {
	set := func(from, to int, imm immediate) {
		for op := from; op <= to; op++ {
			t[op] = imm
		}
	}
	set(0x00, 0x01, immNone)     // unreachable, nop
	set(0x02, 0x04, immBlock)    // block, loop, if
	set(0x05, 0x05, immNone)     // else
	set(0x0b, 0x0b, immEnd)      // end
	set(0x0c, 0x0d, immIndex)    // br, br_if
	set(0x0e, 0x0e, immBrTable)  // br_table
	set(0x0f, 0x0f, immNone)     // return
	set(0x10, 0x10, immIndex)    // call
	set(0x11, 0x11, immIndex2)   // call_indirect
	set(0x12, 0x12, immIndex)    // return_call
	set(0x13, 0x13, immIndex2)   // return_call_indirect
	set(0x14, 0x15, immIndex)    // call_ref, return_call_ref
	set(0x1a, 0x1b, immNone)     // drop, select
	set(0x1c, 0x1c, immSelect)   // select t*
	set(0x20, 0x26, immIndex)    // local.*, global.*, table.get, table.set
	set(0x28, 0x3e, immMemArg)   // loads and stores
	set(0x3f, 0x40, immIndex)    // memory.size, memory.grow
	set(0x41, 0x41, immI32)      // i32.const
	set(0x42, 0x42, immI64)      // i64.const
	set(0x43, 0x43, immF32)      // f32.const
	set(0x44, 0x44, immF64)      // f64.const
	set(0x45, 0xc4, immNone)     // numeric and sign extension
	set(0xd0, 0xd0, immHeapType) // ref.null
	set(0xd1, 0xd1, immNone)     // ref.is_null
	set(0xd2, 0xd2, immIndex)    // ref.func
	set(0xd3, 0xd3, immNone)     // ref.as_non_null
	set(0xd4, 0xd4, immIndex)    // br_on_null
	set(0xd6, 0xd6, immIndex)    // br_on_non_null
	set(0xfc, 0xfc, immPrefixFC)
	set(0xfd, 0xfd, immPrefixFD)
	set(0xfe, 0xfe, immPrefixFE)
	return t
}()

// expr decodes instructions up to the end that closes the expression: a
// function body, or a constant expression.
func (v *validator) expr(r *reader) {
	depth, last := 0, false
	for r.err == nil {
		if r.i >= len(r.b) {
			r.fail("expression has no end")
			return
		}
		start := r.i
		op := r.byte()
		switch opcodes[op] {
		case immInvalid:
			r.i = start
			r.fail("opcode 0x%02x is not supported", op)
		case immNone:
		case immBlock:
			v.blockType(r)
			depth++
		case immEnd:
			last = depth == 0
			depth--
		case immIndex:
			v.checkIndex(r, op, start, r.u32())
		case immIndex2:
			r.u32()
			r.u32()
		case immBrTable:
			for n := r.count(1, "labels"); n >= 0 && r.err == nil; n-- { // n labels, then the default
				r.u32()
			}
		case immMemArg:
			r.memArg()
		case immI32:
			r.sleb(32)
		case immI64:
			r.sleb(64)
		case immF32:
			r.skip(4)
		case immF64:
			r.skip(8)
		case immSelect:
			for n := r.count(1, "value types"); n > 0 && r.err == nil; n-- {
				r.valueType()
			}
		case immHeapType:
			r.sleb(33)
		case immPrefixFC:
			v.prefixFC(r, start)
		case immPrefixFD:
			v.prefixFD(r, start)
		case immPrefixFE:
			v.prefixFE(r, start)
		}
		if v.visit != nil && r.err == nil {
			v.visit(op, start, r.i)
		}
		if last {
			return
		}
	}
}

// checkIndex refuses the local or global index idx of the instruction op
// at start when it is past those that exist (see validator.checkIndices).
// Engines refuse such code too, but the sandbox rewrites code before an
// engine sees it, adding a global and a local (boundStack): an index that
// would have named nothing then names them, and the guest could reset
// the count that bounds its stack.
func (v *validator) checkIndex(r *reader, op byte, start int, idx uint32) {
	if !v.checkIndices || r.err != nil {
		return
	}
	switch {
	case op >= 0x20 && op <= 0x22 && uint64(idx) >= v.frame: // local.get, local.set, local.tee
		r.i = start
		r.fail("local %d does not exist: the function has %d, parameters included", idx, v.frame)
	case (op == 0x23 || op == 0x24) && int(idx) >= v.globals: // global.get, global.set
		r.i = start
		r.fail("global %d does not exist: %d are declared before its use", idx, v.globals)
	}
}

// blockType decodes a block type: empty, one value type, or a type index.
func (v *validator) blockType(r *reader) {
	if r.i < len(r.b) {
		switch c := r.b[r.i]; {
		case c == 0x40:
			r.i++
			return
		case isValueType(ValueType(c)):
			r.i++
			return
		}
	}
	start := r.i
	if t := r.sleb(33); r.err == nil && (t < 0 || t >= int64(len(v.types))) {
		r.i = start
		r.fail("block type %d does not exist", t)
	}
}

// memArg decodes a memory argument: alignment, a memory index when bit 6
// of the alignment says so (multiple memories), and an offset.
func (r *reader) memArg() {
	if align := r.u32(); align&0x40 != 0 {
		r.u32()
	}
	r.u64()
}

// prefixFC decodes the instructions after 0xFC, and records which tables
// table.grow grows.
func (v *validator) prefixFC(r *reader, start int) {
	switch sub := r.u32(); {
	case r.err != nil:
	case sub <= 7: // saturating truncations
	case sub == 8, sub == 10, sub == 12, sub == 14: // memory.init, memory.copy, table.init, table.copy
		r.u32()
		r.u32()
	case sub == 9, sub == 11, sub == 13, sub == 16, sub == 17: // data.drop, memory.fill, elem.drop, table.size, table.fill
		r.u32()
	case sub == 15: // table.grow
		at := r.i
		t := r.u32()
		if r.err != nil {
			return
		}
		if int(t) >= len(v.info.Tables) {
			r.i = at
			r.fail("table.grow of table %d, which does not exist", t)
			return
		}
		v.info.Tables[t].Grows = true
	default:
		r.i = start
		r.fail("opcode 0xfc %d is not supported", sub)
	}
}

// prefixFD decodes SIMD instructions. Only the ones listed have
// immediates; the others up to the last relaxed SIMD opcode have none.
func (v *validator) prefixFD(r *reader, start int) {
	switch sub := r.u32(); {
	case r.err != nil:
	case sub <= 0x0b, sub == 0x5c, sub == 0x5d: // loads and stores
		r.memArg()
	case sub == 0x0c, sub == 0x0d: // v128.const, i8x16.shuffle
		r.skip(16)
	case sub >= 0x15 && sub <= 0x22: // extract and replace lane
		r.skip(1)
	case sub >= 0x54 && sub <= 0x5b: // lane loads and stores
		r.memArg()
		r.skip(1)
	case sub <= 0x113:
	default:
		r.i = start
		r.fail("opcode 0xfd %d is not supported", sub)
	}
}

// prefixFE decodes atomic instructions.
func (v *validator) prefixFE(r *reader, start int) {
	switch sub := r.u32(); {
	case r.err != nil:
	case sub <= 0x02, sub >= 0x10 && sub <= 0x4e:
		r.memArg()
	case sub == 0x03: // atomic.fence
		r.skip(1)
	default:
		r.i = start
		r.fail("opcode 0xfe %d is not supported", sub)
	}
}
