package executor

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/mezzo-cluster/mezzo/sandbox"
	sdk "github.com/mezzo-cluster/mezzo/sdk/executor"
)

// Config configures an executor. Start from DefaultConfig, or from the
// environment the agent gives (see the package documentation).
type Config struct {
	// Client says how to reach the agent and who the executor is;
	// sdk/executor.ConfigFromEnv reads it from the agent's environment.
	// Client.Sandbox is required: tasks run in it (see the package
	// documentation for the layout).
	Client sdk.Config
	// ModulesDir holds the Wasm modules the executor's tasks run, each as
	// <sha256>.wasm, put there by the agent before the launch. Required
	// only when a Wasm task is launched.
	ModulesDir string
	// ModuleCache is where compiled machine code is kept across executor
	// processes (sandbox.EngineConfig.CacheDir). Empty means in memory
	// only.
	ModuleCache string
	// WasmEngine runs Wasm tasks that name no engine ("wasmtime" or
	// "wazero"); "" means the sandbox's default for this build. The
	// agent passes its own setting as MEZZO_WASM_ENGINE.
	WasmEngine string
	// WasmFuel makes wasmtime count what each Wasm task executes
	// (sandbox.EngineConfig.Fuel), reported with its usage. The agent
	// passes its setting as MEZZO_WASM_FUEL=1.
	WasmFuel bool
	// Shared makes this the framework's shared executor on its agent: it
	// runs every task in tasks/<task ID> under its sandbox (never in the
	// sandbox itself, which belongs to no one task), and it does not exit
	// when its tasks have ended: the agent keeps it for the next launches
	// and sends SHUTDOWN once it has been idle long enough (the agent's
	// Config.ExecutorIdleTimeout). The agent sets MEZZO_EXECUTOR_SHARED=1.
	// False is Mesos's command executor: one task, then exit.
	Shared bool
	// OutputMaxBytes and OutputKeep bound and rotate each task's stdout
	// and stderr (sandbox.Spec.OutputMaxBytes); 0 leaves them unbounded.
	// The agent passes its settings as MEZZO_OUTPUT_MAX_BYTES and
	// MEZZO_OUTPUT_KEEP.
	OutputMaxBytes int64
	OutputKeep     int
	// CgroupParent is where native tasks' cgroups are made
	// (sandbox.Spec.CgroupParent); "" is the sandbox's default, which on
	// cgroup v1 nests them in this executor's own cgroup. On v2 the
	// agent passes its executor cgroup's sandbox.ExecutorCgroup.TaskParent
	// as MEZZO_CGROUP_PARENT, so that they nest there too.
	CgroupParent string
	// NativeIsolation says what confines native tasks
	// (sandbox.Spec.Isolation): cgroups where usable (the zero value),
	// cgroups only, or rlimits with /proc accounting. The agent passes
	// its --native-isolation as MEZZO_NATIVE_ISOLATION.
	NativeIsolation sandbox.Isolation
	// UsageInterval is how often the executor reports its running tasks'
	// usage to the agent (USAGE, api.ExecutorUsage). Default 1 s.
	UsageInterval time.Duration
	// DefaultKillGrace is the time between SIGTERM and SIGKILL for a task
	// with no kill policy. Default 3 s, as Mesos's built-in executors.
	DefaultKillGrace time.Duration
	// Logger receives the executor's diagnostics; nil means
	// slog.Default().
	Logger *slog.Logger
}

// DefaultKillGrace is the default Config.DefaultKillGrace.
const DefaultKillGrace = 3 * time.Second

// DefaultConfig returns a Config with every default spelled out; set
// Client (and ModulesDir for Wasm tasks).
func DefaultConfig() Config {
	return Config{Client: sdk.DefaultConfig(), DefaultKillGrace: DefaultKillGrace}
}

// Validate reports the first setting that cannot work, naming it. Zero
// fields are read as their defaults. Run calls it.
func (c Config) Validate() error {
	if err := c.Client.Validate(); err != nil {
		return err
	}
	switch {
	case c.Client.Sandbox == "":
		return errors.New("executor config: Client.Sandbox is required")
	case c.DefaultKillGrace < 0:
		return fmt.Errorf("executor config: DefaultKillGrace must not be negative, got %v", c.DefaultKillGrace)
	case c.CgroupParent != "" && sandbox.CheckCgroupParent(c.CgroupParent) != nil:
		return fmt.Errorf("executor config: CgroupParent: %w", sandbox.CheckCgroupParent(c.CgroupParent))
	case c.NativeIsolation != sandbox.IsolationAuto && c.NativeIsolation != sandbox.IsolationCgroups && c.NativeIsolation != sandbox.IsolationRlimits:
		return fmt.Errorf("executor config: NativeIsolation %q is not one of %q, %q, %q", string(c.NativeIsolation), "", sandbox.IsolationCgroups, sandbox.IsolationRlimits)
	case c.UsageInterval < 0:
		return fmt.Errorf("executor config: UsageInterval must not be negative, got %v", c.UsageInterval)
	}
	return nil
}

// withDefaults returns c with zero fields set to their defaults.
func (c Config) withDefaults() Config {
	if c.DefaultKillGrace == 0 {
		c.DefaultKillGrace = DefaultKillGrace
	}
	if c.UsageInterval == 0 {
		c.UsageInterval = time.Second
	}
	if c.Client.ShutdownGracePeriod == 0 {
		c.Client.ShutdownGracePeriod = sdk.DefaultShutdownGracePeriod
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Client.Logger == nil {
		c.Client.Logger = c.Logger
	}
	return c
}
