package executor_test

import (
	"fmt"
	"runtime"
	"strings"
	"time"
)

// checkLeaks fails TestMain if a goroutine of an executor outlives the
// tests: Run must stop everything it started before it returns.
func checkLeaks() error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		var leaked []string
		for _, g := range strings.Split(string(buf), "\n\n") {
			if strings.Contains(g, "cmd/mezzo/internal/executor.(*executor)") || strings.Contains(g, "sdk/executor.(*Client)") {
				leaked = append(leaked, g)
			}
		}
		if len(leaked) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("leaked goroutines:\n%s", strings.Join(leaked, "\n\n"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}
