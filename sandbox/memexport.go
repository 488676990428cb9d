package sandbox

import (
	"errors"
	"fmt"

	"github.com/mezzo-cluster/mezzo/api/module"
)

// exportMemory returns wasm with its memory 0 exported, and the name of
// that export; "" and wasm unchanged when it defines no memory.
//
// wasmtime's API reaches only exported memories, and the engine measures
// a guest's memory to report its usage and to tell a memory limit from a
// crash. A module that does not export its memory gets an export named
// "memory", the name WASI expects, or "mezzo:memory" if that is taken.
// The guest cannot see its own exports, so the change is invisible to it;
// the module's SHA-256 stays that of its original bytes.
//
// wasm must be a module that module.Validate accepted as info.
func exportMemory(wasm []byte, info *module.Info) ([]byte, string, error) {
	if len(info.Memories) == 0 || info.Memories[0].Imported {
		return wasm, "", nil
	}
	name := "memory"
	for _, e := range info.Exports {
		if e.Kind == module.KindMemory && e.Index == 0 {
			return wasm, e.Name, nil
		}
		if e.Name == name {
			name = "mezzo:memory"
		}
	}
	entry := append(appendULEB(nil, uint64(len(name))), name...)
	entry = append(entry, byte(module.KindMemory), 0)

	out := append([]byte(nil), wasm[:8]...)
	r := wasmReader{b: wasm, i: 8}
	done := false
	for r.i < len(r.b) && r.err == nil {
		start := r.i
		id := r.byte()
		size := r.uleb()
		end := r.i + int(size)
		if r.err != nil || end > len(r.b) {
			break
		}
		switch {
		case done:
		case id == exportSection:
			// Append the entry to the section and count it.
			payload := wasmReader{b: wasm[r.i:end]}
			n := payload.uleb()
			body := appendULEB(nil, n+1)
			body = append(body, payload.b[payload.i:]...)
			body = append(body, entry...)
			out = appendSection(out, exportSection, body)
			done = true
			r.i = end
			continue
		case id != customSection && sectionRank[id] > sectionRank[exportSection]:
			// The module has no export section: add one here.
			out = appendSection(out, exportSection, append(appendULEB(nil, 1), entry...))
			done = true
		}
		out = append(out, wasm[start:end]...)
		r.i = end
	}
	if r.err != nil || r.i != len(wasm) {
		return nil, "", fmt.Errorf("export memory: %w", errors.Join(r.err, errors.New("sections do not add up")))
	}
	if !done {
		out = appendSection(out, exportSection, append(appendULEB(nil, 1), entry...))
	}
	return out, name, nil
}

// Section ids, and their order in a module, for exportMemory.
const (
	customSection = 0
	exportSection = 7
)

var sectionRank = map[byte]int{1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 13: 6, 6: 7, 7: 8, 8: 9, 9: 10, 12: 11, 10: 12, 11: 13}

func appendSection(out []byte, id byte, payload []byte) []byte {
	out = append(out, id)
	out = appendULEB(out, uint64(len(payload)))
	return append(out, payload...)
}

func appendULEB(b []byte, v uint64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v == 0 {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

// wasmReader reads the few encodings exportMemory needs. The first error
// sticks, and later reads return zero.
type wasmReader struct {
	b   []byte
	i   int
	err error
}

var errTruncated = errors.New("module is truncated")

func (r *wasmReader) byte() byte {
	if r.err != nil || r.i >= len(r.b) {
		r.err = errTruncated
		return 0
	}
	c := r.b[r.i]
	r.i++
	return c
}

// uleb reads an unsigned LEB128 number of at most 32 bits.
func (r *wasmReader) uleb() uint64 {
	var v uint64
	for shift := 0; shift < 35; shift += 7 {
		c := r.byte()
		v |= uint64(c&0x7f) << shift
		if c&0x80 == 0 {
			return v
		}
	}
	if r.err == nil {
		r.err = errors.New("number is too long")
	}
	return 0
}
