package main

import (
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/mezzo-cluster/mezzo/cmd/mezzo/internal/executor"
	"github.com/mezzo-cluster/mezzo/sandbox"
	sdkexecutor "github.com/mezzo-cluster/mezzo/sdk/executor"
)

// newExecutorCmd is `mezzo executor`, which an agent starts, never a
// person: everything it needs is in the environment the agent sets
// (MESOS_* and MEZZO_* variables; see sdk/executor.ConfigFromEnv), plus
// MEZZO_MODULES_DIR, MEZZO_MODULE_CACHE, MEZZO_WASM_ENGINE and
// MEZZO_WASM_FUEL for Wasm tasks, MEZZO_EXECUTOR_SHARED=1 for a
// framework's shared executor, MEZZO_TLS_CA when the agent serves TLS, and
// MEZZO_CGROUP_PARENT where its native tasks' cgroups must nest in its
// own (cgroup v2), and MEZZO_NATIVE_ISOLATION for what confines native
// tasks (sandbox.ParseIsolation).
func newExecutorCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "executor",
		Short:  "Run an agent's tasks (started by an agent, never by a person)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			client, err := sdkexecutor.ConfigFromEnv(os.Getenv)
			if err != nil {
				return err
			}
			cfg := executor.DefaultConfig()
			cfg.Client = client
			cfg.ModulesDir = os.Getenv("MEZZO_MODULES_DIR")
			cfg.ModuleCache = os.Getenv("MEZZO_MODULE_CACHE")
			cfg.WasmEngine = os.Getenv("MEZZO_WASM_ENGINE")
			cfg.WasmFuel = os.Getenv("MEZZO_WASM_FUEL") == "1"
			cfg.Shared = os.Getenv("MEZZO_EXECUTOR_SHARED") == "1"
			cfg.CgroupParent = os.Getenv("MEZZO_CGROUP_PARENT")
			if cfg.NativeIsolation, err = sandbox.ParseIsolation(os.Getenv("MEZZO_NATIVE_ISOLATION")); err != nil {
				return fmt.Errorf("MEZZO_NATIVE_ISOLATION: %w", err)
			}
			if v := os.Getenv("MEZZO_OUTPUT_MAX_BYTES"); v != "" {
				if cfg.OutputMaxBytes, err = strconv.ParseInt(v, 10, 64); err != nil {
					return fmt.Errorf("MEZZO_OUTPUT_MAX_BYTES: %w", err)
				}
				if cfg.OutputKeep, err = strconv.Atoi(os.Getenv("MEZZO_OUTPUT_KEEP")); err != nil {
					return fmt.Errorf("MEZZO_OUTPUT_KEEP: %w", err)
				}
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return executor.Run(ctx, cfg)
		},
	}
}
