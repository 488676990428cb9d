package module

import "bytes"

// Helpers that build binaries by hand, so that each test says exactly
// which bytes it feeds Validate.

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// uleb encodes v as unsigned LEB128.
func uleb(v uint64) []byte {
	var b []byte
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			c |= 0x80
		}
		b = append(b, c)
		if v == 0 {
			return b
		}
	}
}

// sleb encodes v as signed LEB128.
func sleb(v int64) []byte {
	var b []byte
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

// vec encodes a vector of already encoded items.
func vec(items ...[]byte) []byte { return cat(uleb(uint64(len(items))), cat(items...)) }

func name(s string) []byte { return cat(uleb(uint64(len(s))), []byte(s)) }

func section(id byte, payload ...[]byte) []byte {
	p := cat(payload...)
	return cat([]byte{id}, uleb(uint64(len(p))), p)
}

func wasmModule(sections ...[]byte) []byte {
	return cat([]byte{0, 'a', 's', 'm', 1, 0, 0, 0}, cat(sections...))
}

func funcType(params, results []ValueType) []byte {
	enc := func(ts []ValueType) []byte {
		items := make([][]byte, len(ts))
		for i, t := range ts {
			items[i] = []byte{byte(t)}
		}
		return vec(items...)
	}
	return cat([]byte{0x60}, enc(params), enc(results))
}

// body encodes a function body without locals.
func body(code ...byte) []byte { return bodyWithLocals(vec(), code...) }

// bodyWithLocals encodes a function body with its local declarations.
func bodyWithLocals(locals []byte, code ...byte) []byte {
	b := cat(locals, code, []byte{0x0b})
	return cat(uleb(uint64(len(b))), b)
}

// withParam is a module with one function, of type (i32) -> (), whose
// body is b.
func withParam(b []byte) []byte {
	return wasmModule(
		section(secType, vec(funcType([]ValueType{I32}, nil))),
		section(secFunction, vec(uleb(0))),
		section(secCode, vec(b)))
}

// simple is a module with two types, 0 () -> () and 1 (i32) -> (), the
// given functions' bodies, each of type 0, and the extra sections placed
// by id.
func simple(extra map[byte][]byte, bodies ...[]byte) []byte {
	funcs := make([][]byte, len(bodies))
	for i := range bodies {
		funcs[i] = uleb(0)
	}
	secs := [][]byte{section(secType, vec(funcType(nil, nil), funcType([]ValueType{I32}, nil)))}
	add := func(id byte) {
		if p, ok := extra[id]; ok {
			secs = append(secs, section(id, p))
		}
	}
	add(secImport)
	if len(bodies) > 0 {
		secs = append(secs, section(secFunction, vec(funcs...)))
	}
	for _, id := range []byte{secTable, secMemory, secGlobal, secExport, secStart, secElement, secDataCount} {
		add(id)
	}
	if len(bodies) > 0 {
		secs = append(secs, section(secCode, vec(bodies...)))
	}
	add(secData)
	return wasmModule(secs...)
}

// table encodes a funcref table type; max < 0 means none.
func table(min, max int64) []byte {
	if max < 0 {
		return cat([]byte{0x70, 0}, uleb(uint64(min)))
	}
	return cat([]byte{0x70, 1}, uleb(uint64(min)), uleb(uint64(max)))
}

// tableGrow is the body of a function that grows table 0 by n elements:
// table.grow (ref.null func) (i32.const n), dropped.
func tableGrow(n int64) []byte {
	return body(cat([]byte{0xd0, 0x70, 0x41}, sleb(int64(int32(n))), []byte{0xfc, 15, 0, 0x1a})...)
}
