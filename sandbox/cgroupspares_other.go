//go:build !linux

package sandbox

// CgroupSpares keeps native tasks' cgroups made ahead of their tasks on
// Linux; cgroups exist on Linux only, and elsewhere it keeps none.
type CgroupSpares struct{}

// NewCgroupSpares returns a CgroupSpares that keeps none.
func NewCgroupSpares(parent string) *CgroupSpares { return &CgroupSpares{} }

// Close does nothing: there is no spare to remove.
func (s *CgroupSpares) Close() {}
