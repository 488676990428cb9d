package sandbox

import (
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

	secs, err := splitSections(wasm)
	if err != nil {
		return nil, "", fmt.Errorf("export memory: %w", err)
	}
	out := append([]byte(nil), wasm[:8]...)
	done := false
	for _, s := range secs {
		switch {
		case done:
		case s.id == exportSection:
			// Append the entry to the section and count it.
			r := wasmReader{b: s.payload}
			n := r.count()
			if r.err != nil {
				return nil, "", fmt.Errorf("export memory: %w", r.err)
			}
			body := appendULEB(nil, uint64(n+1))
			body = append(body, s.payload[r.i:]...)
			out = appendSection(out, exportSection, append(body, entry...))
			done = true
			continue
		case s.id != customSection && sectionRank[s.id] > sectionRank[exportSection]:
			// The module has no export section: add one here.
			out = appendSection(out, exportSection, append(appendULEB(nil, 1), entry...))
			done = true
		}
		out = appendSection(out, s.id, s.payload)
	}
	if !done {
		out = appendSection(out, exportSection, append(appendULEB(nil, 1), entry...))
	}
	return out, name, nil
}
