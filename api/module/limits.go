package module

// Limits bounds what a module may declare. Validate refuses a module that
// exceeds any of them with a *LimitError naming the field.
//
// A zero field means the field's default, as DefaultLimits returns it, so
// the zero Limits is DefaultLimits. There is no way to lift a limit
// altogether: every bound keeps the memory Validate and the engines use
// proportional to something the operator chose.
type Limits struct {
	// MaxBytes caps the size of the binary. Default 64 MiB.
	MaxBytes int

	// MaxFunctions caps the number of functions, imported and defined.
	// A module with 200,000 small functions took wasmtime 5.5 s and 1 GB
	// to compile. Default 100,000 (a Go "hello" has about 1,800).
	MaxFunctions int

	// MaxCodeBytes caps the size of the code section, the part engines
	// compile. Default 32 MiB.
	MaxCodeBytes int

	// MaxTableElements caps tables. A table's initial size must not
	// exceed it, and a table that the module can grow (it contains a
	// table.grow instruction for it) must declare a maximum that does not
	// exceed it either: wazero allocates a grown table at once, so a
	// table.grow by 0xF0000000 elements of a table without a maximum
	// kills the whole process. A table the module never grows may omit
	// its maximum, as every Go wasip1 module does. It also caps the
	// module's tables together (initial sizes, and maximums of tables
	// that grow): tables live in host memory, outside any linear-memory
	// limit, 8 bytes an element. Default 1,048,576.
	MaxTableElements uint32

	// MaxMemoryPages caps the initial size of each linear memory, in
	// 64 KiB pages. It does not cap growth, which the engine limits per
	// task. Default 65,536 (4 GiB, all a 32-bit memory can address).
	MaxMemoryPages uint32

	// MaxImports caps the number of imports. Default 1,000.
	MaxImports int

	// MaxExports caps the number of exports. Default 10,000.
	MaxExports int

	// MaxTables caps the number of tables, imported and defined.
	// Default 100.
	MaxTables int

	// MaxLocals caps the locals one function declares, besides its
	// parameters. A declaration of four billion locals takes six bytes,
	// and wazero allocates for each of them. Default 50,000, wasmtime's
	// own limit.
	MaxLocals int
}

// DefaultLimits returns the limits Validate applies to a zero Limits:
// generous for real programs (a large Go program compiled for wasip1
// fits with room to spare) and small enough that no module within them
// can exhaust a machine's memory while it is validated or compiled.
func DefaultLimits() Limits {
	return Limits{
		MaxBytes:         64 << 20,
		MaxFunctions:     100_000,
		MaxCodeBytes:     32 << 20,
		MaxTableElements: 1 << 20,
		MaxMemoryPages:   65536,
		MaxImports:       1000,
		MaxExports:       10_000,
		MaxTables:        100,
		MaxLocals:        50_000,
	}
}

// WithDefaults returns the limits Validate applies for l: l with each
// zero or negative field replaced by its default.
func (l Limits) WithDefaults() Limits {
	d := DefaultLimits()
	pick := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	pick(&l.MaxBytes, d.MaxBytes)
	pick(&l.MaxFunctions, d.MaxFunctions)
	pick(&l.MaxCodeBytes, d.MaxCodeBytes)
	pick(&l.MaxImports, d.MaxImports)
	pick(&l.MaxExports, d.MaxExports)
	pick(&l.MaxTables, d.MaxTables)
	pick(&l.MaxLocals, d.MaxLocals)
	if l.MaxTableElements == 0 {
		l.MaxTableElements = d.MaxTableElements
	}
	if l.MaxMemoryPages == 0 {
		l.MaxMemoryPages = d.MaxMemoryPages
	}
	return l
}
