// Package modules is the master's store of WebAssembly task modules: each
// module is validated when it is uploaded, then kept on disk under its
// sha256, from which agents fetch it by hash.
//
// A tour:
//
//	store, err := modules.Open(filepath.Join(workDir, "modules"), modules.CompileCheck)
//	m, err := store.Put(ctx, wasmBytes) // m.SHA256, m.Size
//	f, err := store.Open(m.SHA256)      // the blob, for GET /api/v1/modules/{sha256}
//	err = store.Remove(m.SHA256)        // a module deleted from the cluster
//
// A Store is safe for concurrent use.
package modules
