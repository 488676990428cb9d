package moduletest

import "encoding/binary"

// ManyFunctions returns a module of n empty functions of type [] -> [],
// the last exported as _start (n must be at least 1). It is within
// module.DefaultLimits up to 100,000 functions, and costs compilers in
// proportion to n rather than to its size: 100,000 functions make 400 KB
// that took wasmtime 569 MB to compile.
func ManyFunctions(n int) []byte {
	vec := func(id byte, count int, entry []byte) []byte {
		body := binary.AppendUvarint(nil, uint64(count))
		for range count {
			body = append(body, entry...)
		}
		return append(append([]byte{id}, binary.AppendUvarint(nil, uint64(len(body)))...), body...)
	}
	wasm := []byte{0x00, 'a', 's', 'm', 1, 0, 0, 0}
	wasm = append(wasm, vec(1, 1, []byte{0x60, 0, 0})...) // one type: [] -> []
	wasm = append(wasm, vec(3, n, []byte{0})...)          // n functions of it
	start := append([]byte{6}, "_start"...)
	start = append(append(start, 0), binary.AppendUvarint(nil, uint64(n-1))...)
	wasm = append(wasm, vec(7, 1, start)...)               // export the last
	return append(wasm, vec(10, n, []byte{2, 0, 0x0b})...) // n bodies: no locals, end
}
