//go:build !linux

package sandbox

import (
	"fmt"
	"os"
	"runtime"
)

// Init is the rlimit init of Linux, where StartCommand starts native
// tasks through it; StartCommand runs no native task elsewhere, so no
// process is ever started as the init here. Should one be, it says so on
// stderr and exits with code 127.
func Init(args, env []string) {
	fmt.Fprintf(os.Stderr, "rlimit init: native tasks are not run on %s\n", runtime.GOOS)
	os.Exit(127)
}
