//go:build !linux

package sandbox

import "time"

// cpuClock stands in for a thread CPU clock where there is none: it
// measures wall time since the guest started, an upper bound of its CPU
// time.
type cpuClock struct{ start time.Time }

func startCPUClock() cpuClock { return cpuClock{start: time.Now()} }

func (c cpuClock) seconds() float64 { return time.Since(c.start).Seconds() }
