package scheduler_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/agent/executor"
	sdkexecutor "github.com/mezzo-cluster/mezzo/sdk/executor"
)

// TestMain fails the tests if a client goroutine outlives them: Run must
// stop everything it started before it returns.
//
// Run as `<test binary> executor`, it is the executor the example's agent
// starts (as `mezzo executor`).
func TestMain(m *testing.M) {
	if len(os.Args) == 2 && os.Args[1] == "executor" {
		os.Exit(runExecutor())
	}
	code := m.Run()
	if code == 0 {
		if err := checkLeaks(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

func checkLeaks() error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		var leaked []string
		for _, g := range strings.Split(string(buf), "\n\n") {
			if strings.Contains(g, "sdk/scheduler.(*Client)") {
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

// runExecutor is `mezzo executor`, for the example's agent.
func runExecutor() int {
	client, err := sdkexecutor.ConfigFromEnv(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	cfg := executor.DefaultConfig()
	cfg.Client = client
	cfg.ModulesDir = os.Getenv("MEZZO_MODULES_DIR")
	cfg.ModuleCache = os.Getenv("MEZZO_MODULE_CACHE")
	if err := executor.Run(context.Background(), cfg); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}
