package agent

import (
	"os"
	"syscall"
	"testing"
	"time"
)

// TestProcessCPU reads this process's CPU time from /proc and checks it
// against getrusage after burning some CPU.
func TestProcessCPU(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	var ru syscall.Rusage
	for {
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			t.Fatal(err)
		}
		if time.Duration(ru.Utime.Nano()+ru.Stime.Nano()) > 100*time.Millisecond {
			break
		}
		for i := 0; i < 1e6; i++ {
			_ = i * i
		}
	}
	got, ok := processCPU(os.Getpid())
	if !ok {
		t.Fatal("processCPU could not read this process's CPU time")
	}
	// /proc counts in hundredths of a second; getrusage is finer.
	if want := time.Duration(ru.Utime.Nano() + ru.Stime.Nano()); got < want-20*time.Millisecond {
		t.Errorf("processCPU = %v, want at least %v (getrusage, read before)", got, want)
	}
	if _, ok := processCPU(-1); ok {
		t.Error("processCPU of no process succeeded")
	}
}
