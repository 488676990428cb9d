package module

import (
	"fmt"
	"strings"
)

// Info describes a module that Validate accepted. Indices follow the
// module's own index spaces: imports come first, then definitions.
type Info struct {
	// Imports lists the module's imports in order.
	Imports []Import
	// Exports lists the module's exports in order.
	Exports []Export
	// Memories lists the linear memories, imported then defined.
	Memories []Memory
	// Tables lists the tables, imported then defined.
	Tables []Table
	// Functions is the number of functions, imported and defined.
	Functions int
	// Types is the number of types in the type section, which block
	// types and call_indirect refer to by index (WalkCode needs it).
	Types int
	// CodeBytes is the size of the code section, in bytes.
	CodeBytes int
}

// Kind is the kind of an import or export, with its binary encoding.
type Kind byte

// The kinds of imports and exports.
const (
	KindFunction Kind = 0
	KindTable    Kind = 1
	KindMemory   Kind = 2
	KindGlobal   Kind = 3
)

// String returns "function", "table", "memory" or "global".
func (k Kind) String() string {
	switch k {
	case KindFunction:
		return "function"
	case KindTable:
		return "table"
	case KindMemory:
		return "memory"
	case KindGlobal:
		return "global"
	}
	return fmt.Sprintf("Kind(%d)", byte(k))
}

// Import is one import of a module.
type Import struct {
	// Module and Name are the two-level name of the import, such as
	// "wasi_snapshot_preview1" and "fd_write".
	Module, Name string
	// Kind is what is imported.
	Kind Kind
	// Type is the function's type when Kind is KindFunction, and nil
	// otherwise. Imports and exports of the same type share it: it must
	// not be modified.
	Type *FuncType
}

// String returns "function module.name".
func (i Import) String() string { return fmt.Sprintf("%v %s.%s", i.Kind, i.Module, i.Name) }

// Export is one export of a module.
type Export struct {
	// Name is the export's name, such as "_start".
	Name string
	// Kind is what is exported.
	Kind Kind
	// Index is the exported item's index in its index space.
	Index uint32
	// Type is the function's type when Kind is KindFunction, and nil
	// otherwise. It is shared like Import.Type.
	Type *FuncType
}

// Memory is a linear memory's declared size, in 64 KiB pages.
type Memory struct {
	// Min is the initial size.
	Min uint64
	// Max is the declared maximum; it means something only if HasMax.
	Max    uint64
	HasMax bool
	// Imported is set for an imported memory.
	Imported bool
}

// Table is a table's declared size, in elements.
type Table struct {
	// Min is the initial size.
	Min uint64
	// Max is the declared maximum; it means something only if HasMax.
	Max    uint64
	HasMax bool
	// Imported is set for an imported table.
	Imported bool
	// Grows is set when the module's code contains a table.grow
	// instruction for this table.
	Grows bool
}

// ValueType is a WebAssembly value type, with its binary encoding.
type ValueType byte

// The value types Validate accepts.
const (
	I32       ValueType = 0x7f
	I64       ValueType = 0x7e
	F32       ValueType = 0x7d
	F64       ValueType = 0x7c
	V128      ValueType = 0x7b
	FuncRef   ValueType = 0x70
	ExternRef ValueType = 0x6f
)

var valueTypeNames = map[ValueType]string{
	I32: "i32", I64: "i64", F32: "f32", F64: "f64", V128: "v128",
	FuncRef: "funcref", ExternRef: "externref",
}

func isValueType(t ValueType) bool {
	switch t {
	case I32, I64, F32, F64, V128, FuncRef, ExternRef:
		return true
	}
	return false
}

// String returns the type's name in the text format, such as "i32".
func (t ValueType) String() string {
	if s, ok := valueTypeNames[t]; ok {
		return s
	}
	return fmt.Sprintf("ValueType(0x%x)", byte(t))
}

// FuncType is a function's signature.
type FuncType struct {
	Params, Results []ValueType
}

// String returns the signature in the text format's style, such as
// "(param i32 i32) (result i32)"; "()" for no parameters and no results.
func (f *FuncType) String() string {
	var b strings.Builder
	list := func(word string, ts []ValueType) {
		if len(ts) == 0 {
			return
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString("(" + word)
		for _, t := range ts {
			b.WriteString(" " + t.String())
		}
		b.WriteByte(')')
	}
	list("param", f.Params)
	list("result", f.Results)
	if b.Len() == 0 {
		return "()"
	}
	return b.String()
}

// Export returns the export called name, and whether there is one.
func (i *Info) Export(name string) (Export, bool) {
	for _, e := range i.Exports {
		if e.Name == name {
			return e, true
		}
	}
	return Export{}, false
}
