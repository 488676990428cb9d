package executor

import (
	"runtime/debug"

	"github.com/mezzo-cluster/mezzo/sandbox"
)

// followMemoryLimit keeps the Go runtime's soft memory limit
// (debug.SetMemoryLimit) a sixteenth under the cgroup cap the agent sets
// for this executor (sandbox.MemoryLimit), following it as the agent
// raises and lowers it with the executor's tasks. wazero keeps a task's
// linear memory on the Go heap and copies it when it grows: without the
// soft limit, garbage the collector has not yet reclaimed (up to the
// heap again, at GOGC=100) would count against the cap, and the kernel
// would kill an executor whose tasks stay within their memory. With it,
// the collector runs, and returns memory to the system, before the cap
// is reached. It is called from the usage loop; without a cap it does
// nothing.
func (x *executor) followMemoryLimit() {
	limit, ok := sandbox.MemoryLimit()
	if !ok || limit == x.memLimit {
		return
	}
	x.memLimit = limit
	debug.SetMemoryLimit(int64(limit - limit/16))
	x.log.Debug("following the cgroup's memory cap", "cap", limit)
}
