//go:build !linux

package main

import (
	"fmt"
	"os"
	"runtime"
)

// main refuses to run: the harness reads each daemon's CPU and memory,
// and finds an agent's executors, in /proc, and starts real agents,
// whose native tasks need Linux's cgroups or rlimit accounting.
func main() {
	fmt.Fprintf(os.Stderr, "bench: runs on Linux only (it measures through /proc), not on %s\n", runtime.GOOS)
	os.Exit(2)
}
