package sandbox

import (
	"golang.org/x/sys/unix"
)

// cpuClock measures the CPU time of one OS thread: the one a Wasm guest
// runs on, locked to its goroutine. Any goroutine may read it while that
// thread stays locked.
type cpuClock struct {
	id    int32 // the thread's CPU-time clock
	start int64 // nanoseconds, when the guest started
}

// startCPUClock returns a clock for the calling thread. The caller must
// have locked its goroutine to the thread.
func startCPUClock() cpuClock {
	// The kernel's MAKE_THREAD_CPUCLOCK(tid, CPUCLOCK_SCHED): what
	// pthread_getcpuclockid returns, readable by every thread of the
	// process.
	c := cpuClock{id: ^int32(unix.Gettid())<<3 | 6}
	c.start = c.read()
	return c
}

func (c cpuClock) read() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(c.id, &ts); err != nil {
		return c.start // the thread is gone; cannot happen while locked
	}
	return ts.Nano()
}

// seconds returns the CPU time used since start.
func (c cpuClock) seconds() float64 {
	return float64(c.read()-c.start) / 1e9
}
