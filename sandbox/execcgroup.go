package sandbox

// ExecutorLimits is what an executor's cgroup enforces.
type ExecutorLimits struct {
	// MemoryBytes caps the memory (page cache included, no swap) of the
	// executor and of every process and task cgroup below it; 0 means no
	// cap.
	MemoryBytes uint64
	// CPUs is the cgroup's CPU weight, in CPUs, as Spec.CPUs is a task's; it
	// applies on v2 only (see ExecutorCgroup). 0 leaves the kernel's
	// default.
	CPUs float64
}
