//go:build !linux

package sandbox

// CloseInheritedOnExec does nothing where native tasks are not run: the
// descriptors it guards against would reach no task (see the Linux
// version).
func CloseInheritedOnExec() error { return nil }
