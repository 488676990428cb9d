package agent

import (
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mezzo-cluster/mezzo/agent/fetcher"
	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/api/auth"
	"github.com/mezzo-cluster/mezzo/sandbox"
)

// Config holds an agent's settings. Start from DefaultConfig.
type Config struct {
	// Masters lists the masters as HOST:PORT; the agent subscribes to the
	// first that answers.
	Masters []string
	// Principal and Secret, when Principal is set, are the agent's
	// credential towards the masters (HTTP Basic on its link, its
	// updates and its module downloads), for masters that require
	// authentication.
	Principal string
	Secret    string
	// AllowNative lets the agent run native tasks and custom executors:
	// programs that can reach whatever the agent's user can (SECURITY.md).
	// Without it only Wasm tasks run; others fail with TASK_ERROR,
	// REASON_TASK_UNAUTHORIZED.
	AllowNative bool
	// TaskUser is who native code runs as when neither its CommandInfo
	// nor its FrameworkInfo names a user: native tasks, custom executors
	// and COMMAND checks. "" means nobody for an agent running as root,
	// and the agent's own user otherwise. It must exist and must not be
	// root by uid: root is granted per task, by a run_tasks rule of the
	// master's ACLs that names it (SECURITY.md). An agent that does not
	// run as root can run native code only as itself.
	TaskUser string
	// Authenticator, when set, requires credentials on the agent's own
	// API (files, GET_CONTAINERS, /monitor/statistics; executors keep
	// their tokens): the masters' principals must be among them, since
	// the masters proxy files for their clients. nil leaves that API
	// open, which is safe on loopback only.
	Authenticator *auth.Authenticator
	// TLS, when set, says the cluster runs on TLS: the agent reaches the
	// masters over https with it (their certificates verified against
	// its RootCAs, the agent's own certificate presented), and its
	// executors reach its API over https. nil: plain http. Serving TLS
	// is the listener's business, the caller's.
	TLS *tls.Config
	// TLSCAFile is the CA file executors verify the agent's certificate
	// against, passed to them as MEZZO_TLS_CA; required with TLS.
	TLSCAFile string
	// WorkDir holds agent.db, sandboxes and the module cache.
	WorkDir string
	// Hostname is advertised to the master; the master and frameworks reach
	// the agent's HTTP API there.
	Hostname string
	// Port is the agent's HTTP port, advertised to the master (Mesos: 5051).
	Port int
	// Resources are offered to frameworks; empty means detected.
	Resources api.Resources
	// Attributes describe the agent to frameworks (rack, zone, ...).
	Attributes []api.Attribute
	// StatusRetryMin and StatusRetryMax bound the backoff with which an
	// unacknowledged status update is sent again (Mesos: 10 s to 10 min).
	StatusRetryMin time.Duration
	StatusRetryMax time.Duration
	// RegistrationBackoff is the first delay before subscribing again after
	// the master connection drops; it doubles up to a minute.
	RegistrationBackoff time.Duration
	// FetchLocalDirs are the host directories from which tasks may fetch
	// local files (file:// URIs and absolute paths). Empty means
	// <work_dir>/files only: a framework must not be able to copy the
	// agent's own files, or /etc/shadow, into its sandbox.
	FetchLocalDirs []string
	// FetcherStallTimeout aborts the download of a task's URI (or a
	// custom executor's) once no byte has arrived for that long; the
	// task fails with REASON_CONTAINER_LAUNCH_FAILED, naming the URI
	// (Mesos's --fetcher_stall_timeout: 60 s, the default).
	FetcherStallTimeout time.Duration
	// WasmEngine runs Wasm tasks that name no engine: "wasmtime" or
	// "wazero"; "" means the sandbox's default for this build (wasmtime
	// when built with cgo; see RATIONALE.md).
	WasmEngine string
	// WasmFuel makes executors count what each Wasm task executes under
	// wasmtime, in fuel (sandbox.EngineConfig.Fuel), reported in its
	// statistics and final update. It slows Wasm tasks (16 % to 3×, see
	// RATIONALE.md), hence off by default.
	WasmFuel bool
	// NativeIsolation says what confines native tasks, passed to every
	// executor as MEZZO_NATIVE_ISOLATION (sandbox.Spec.Isolation):
	// cgroups where usable, else rlimits (the zero value); cgroups only,
	// which Validate refuses where they are unusable; or rlimits with
	// /proc accounting even where cgroups are usable. Executors' own
	// cgroups do not depend on it.
	NativeIsolation sandbox.Isolation

	// ExecutorCommand is the program and arguments that start an
	// executor: `mezzo executor` (cmd/mezzo sets it to its own binary).
	// Every task runs in an executor process the agent starts with it
	// (see RATIONALE.md, "Why are executors separate processes?").
	// Required.
	ExecutorCommand []string
	// ExecutorEnvironment is added to the environment of every executor
	// the agent starts, Mezzo's and custom ones (Mesos's
	// --executor_environment_variables): proxy settings, JAVA_HOME or
	// LD_LIBRARY_PATH for a custom executor, say. The MESOS_ variables
	// the agent sets win over it, and MEZZO_ names, the agent's own, are
	// refused; its PATH replaces the default one (sandbox.DefaultPath); a
	// custom executor's own CommandInfo.environment wins over it. Unlike
	// Mesos's agent, which passes on its own environment when the flag is
	// unset, nothing is inherited from the agent's environment, which may
	// hold its credentials. Nor is it passed on to the tasks of Mezzo's
	// executor: a task's environment is its own (RATIONALE.md, "Why a
	// fixed default PATH rather than the executor's?").
	ExecutorEnvironment map[string]string
	// ExecutorRegistrationTimeout is how long a new executor has to
	// subscribe before the agent kills it and fails its tasks with
	// REASON_EXECUTOR_REGISTRATION_TIMEOUT; a recovered executor has as
	// long to re-subscribe (Mesos: 1 min).
	ExecutorRegistrationTimeout time.Duration
	// ExecutorShutdownGrace is how long an executor has after SHUTDOWN to
	// kill its tasks and exit before the agent kills its process group
	// (Mesos: 5 s).
	ExecutorShutdownGrace time.Duration
	// ExecutorIdleTimeout is how long a framework's shared executor (the
	// one that runs its tasks that name no executor) is kept without
	// tasks before the agent shuts it down; a launch meanwhile reuses it,
	// with its compiled modules warm. Default 1 min.
	ExecutorIdleTimeout time.Duration
	// ExecutorHeartbeat is how often the agent sends a subscribed
	// executor a HEARTBEAT event, so that a connection idle for long is
	// not dropped on the way and an executor can tell a live agent from a
	// silent one (Mesos: 30 min, DEFAULT_EXECUTOR_HEARTBEAT_INTERVAL).
	ExecutorHeartbeat time.Duration
	// OutputMaxBytes, when positive, bounds each task's stdout and stderr
	// files: past it they are rotated (stdout.1, stdout.2, ...), keeping
	// OutputKeep old files (sandbox.Spec.OutputMaxBytes). 0 (the default)
	// leaves them unbounded, as Mesos's default sandbox logger does; a
	// chatty long-running task then grows its sandbox until its executor
	// ends and the sandbox is collected.
	OutputMaxBytes int64
	OutputKeep     int
	// SandboxGCDelay is how long the sandbox of an executor that exited
	// is kept, counted from its exit, and that of a task that ended in
	// an executor still running, counted from the task's end (Mesos's
	// --gc_delay: one week).
	SandboxGCDelay time.Duration
	// SandboxGCHeadroom is the fraction of the work directory's disk to
	// keep free: below it, the sandboxes of exited executors and ended
	// tasks go before their delay, oldest first (Mesos's --gc_disk_headroom: 0.1). 0 turns the
	// disk check off. A fetch into a sandbox may not write into that
	// share either: it is bounded by the free space less this fraction
	// of the disk (fetchLimit), 0 leaving it the free space.
	SandboxGCHeadroom float64
	// Recover says what a starting agent does with the executors its
	// agent.db lists, as Mesos's --recover: RecoverReconnect (the
	// default, also for "") lets them re-subscribe, so their tasks keep
	// running; RecoverCleanup kills them and fails their tasks.
	Recover string

	// bootID stands for the host's boot ID (hostBootID) when set: tests
	// change it to play a reboot.
	bootID string
	// diskSpace stands for diskSpace, the total and free bytes of the
	// file system holding a directory, when set: tests play a disk
	// short of room without filling one.
	diskSpace func(dir string) (total, free float64, ok bool)
}

// The values of Config.Recover.
const (
	RecoverReconnect = "reconnect"
	RecoverCleanup   = "cleanup"
)

// DefaultConfig returns Mesos's defaults where Mesos has one.
func DefaultConfig() Config {
	return Config{
		Hostname:            "localhost",
		Port:                5051,
		StatusRetryMin:      10 * time.Second,
		StatusRetryMax:      10 * time.Minute,
		RegistrationBackoff: time.Second,
		FetcherStallTimeout: fetcher.DefaultStallTimeout,

		ExecutorRegistrationTimeout: time.Minute,
		ExecutorShutdownGrace:       5 * time.Second,
		ExecutorIdleTimeout:         time.Minute,
		ExecutorHeartbeat:           30 * time.Minute,
		OutputKeep:                  3,
		SandboxGCDelay:              7 * 24 * time.Hour,
		SandboxGCHeadroom:           0.1,
		Recover:                     RecoverReconnect,
	}
}

// cgroupsErr says why native tasks cannot have cgroups here, if they
// cannot.
func cgroupsErr() error {
	_, err := sandbox.CgroupsAvailable()
	return err
}

// Validate reports the first setting that cannot work, naming it.
func (c Config) Validate() error {
	switch {
	case c.TLS != nil && c.TLSCAFile == "":
		return errors.New("agent config: TLS needs TLSCAFile, the CA its executors verify it with")
	case len(c.Masters) == 0:
		return errors.New("agent config: Masters is required")
	case c.WorkDir == "":
		return errors.New("agent config: WorkDir is required")
	case c.Port <= 0 || c.Port > 65535:
		return fmt.Errorf("agent config: Port %d is out of range", c.Port)
	case c.StatusRetryMin <= 0 || c.StatusRetryMax < c.StatusRetryMin:
		return fmt.Errorf("agent config: StatusRetryMin (%v) must be positive and at most StatusRetryMax (%v)", c.StatusRetryMin, c.StatusRetryMax)
	case c.RegistrationBackoff <= 0:
		return errors.New("agent config: RegistrationBackoff must be positive")
	case len(c.ExecutorCommand) == 0 || c.ExecutorCommand[0] == "":
		return errors.New("agent config: ExecutorCommand is required")
	case c.FetcherStallTimeout <= 0:
		return errors.New("agent config: FetcherStallTimeout must be positive")
	case c.ExecutorRegistrationTimeout <= 0:
		return errors.New("agent config: ExecutorRegistrationTimeout must be positive")
	case c.SandboxGCDelay < 0 || c.SandboxGCHeadroom < 0 || c.SandboxGCHeadroom >= 1:
		return fmt.Errorf("agent config: SandboxGCDelay (%v) must not be negative and SandboxGCHeadroom (%v) must be in [0, 1)", c.SandboxGCDelay, c.SandboxGCHeadroom)
	case c.ExecutorShutdownGrace <= 0:
		return errors.New("agent config: ExecutorShutdownGrace must be positive")
	case c.OutputMaxBytes < 0 || c.OutputKeep < 0 || c.OutputKeep > 1000:
		return fmt.Errorf("agent config: OutputMaxBytes must be ≥ 0 and OutputKeep between 0 and 1000, got %d and %d", c.OutputMaxBytes, c.OutputKeep)
	case c.ExecutorIdleTimeout <= 0:
		return errors.New("agent config: ExecutorIdleTimeout must be positive")
	case c.ExecutorHeartbeat <= 0:
		return errors.New("agent config: ExecutorHeartbeat must be positive")
	case c.NativeIsolation != sandbox.IsolationAuto && c.NativeIsolation != sandbox.IsolationCgroups && c.NativeIsolation != sandbox.IsolationRlimits:
		return fmt.Errorf("agent config: NativeIsolation %q is not one of %q, %q, %q", string(c.NativeIsolation), "", sandbox.IsolationCgroups, sandbox.IsolationRlimits)
	case c.NativeIsolation == sandbox.IsolationCgroups && cgroupsErr() != nil:
		return fmt.Errorf("agent config: NativeIsolation %q: %w", c.NativeIsolation, cgroupsErr())
	case c.Recover != "" && c.Recover != RecoverReconnect && c.Recover != RecoverCleanup:
		return fmt.Errorf("agent config: Recover must be %q or %q, got %q", RecoverReconnect, RecoverCleanup, c.Recover)
	}
	if err := sandbox.CheckEnv(c.ExecutorEnvironment); err != nil {
		return fmt.Errorf("agent config: ExecutorEnvironment: %w", err)
	}
	for k := range c.ExecutorEnvironment {
		if strings.HasPrefix(k, "MEZZO_") {
			return fmt.Errorf("agent config: ExecutorEnvironment: %s: the MEZZO_ variables are the agent's to set", k)
		}
	}
	return api.ValidateResources(c.Resources)
}
