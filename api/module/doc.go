// Package module checks a WebAssembly binary before Mezzo accepts it as a
// task module: it parses the binary's sections itself, refuses what is
// malformed or larger than the configured Limits, and describes what the
// module imports, exports and declares.
//
// The master's module store calls it on upload and the agent before it
// compiles a fetched module, so that a hostile module (a table that can
// grow to billions of elements, 200,000 functions that take seconds and a
// gigabyte to compile, a function declaring four billion locals) is
// refused before it reaches a WebAssembly engine, some of which cannot
// contain it (see RATIONALE.md, "Why validate modules before any
// engine sees them?"):
//
//	info, err := module.Validate(wasm, module.DefaultLimits())
//	var lim *module.LimitError
//	switch {
//	case errors.As(err, &lim):
//		log.Printf("refused: over %s", lim.Limit)
//	case err != nil:
//		log.Printf("refused: %v", err) // malformed or unsupported
//	default:
//		log.Printf("%d functions, imports %v", info.Functions, info.Imports)
//	}
//
// Validate is not a full WebAssembly validator: it decodes every section
// and instruction, which is enough to find everything it limits, but it
// does not type-check code. The engine that compiles the module does.
// It does check that every local and global an instruction names exists:
// the sandbox adds a global and locals before an engine sees the code, so
// an index that named nothing would name them.
// It accepts WebAssembly 2.0 (with SIMD), the threads proposal's
// instructions, tail calls and typed function references, and refuses
// proposals it cannot decode, such as exception handling and garbage
// collection. It also refuses what a task's memory limit would not cap:
// a shared memory, and more than one memory. WalkCode lends the same
// decoder to code that rewrites function bodies (the sandbox does, to
// bound a module's call stack under wazero), so that the instruction set
// is decoded in one place.
//
// The package does no I/O, starts no goroutines and holds no mutable
// state: Validate may be called concurrently, and its memory use is
// bounded by the size of its input and by the Limits.
package module
