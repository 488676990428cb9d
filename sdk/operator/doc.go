// Package operator is a typed client of a master's operator API, its
// module store and its files proxy — everything the mezzo CLI asks of a
// cluster besides running a framework.
//
// A tour:
//
//	c := operator.New("127.0.0.1:5050")
//	mod, err := c.PushModule(ctx, wasmBytes)     // POST /api/v1/modules
//	err = c.DeleteModule(ctx, mod.SHA256)        // DELETE /api/v1/modules/{sha256}
//	tasks, err := c.Tasks(ctx)                   // GET_TASKS
//	chunk, err := c.ReadFile(ctx, agentID, path, offset, 64<<10)
//
// A Client is safe for concurrent use.
package operator
