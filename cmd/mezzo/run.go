package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/sdk/operator"
	"github.com/mezzo-cluster/mezzo/sdk/scheduler"
)

// runFlags are mezzo run's flags.
type runFlags struct {
	master  string
	module  string
	command string
	name    string
	engine  string
	role    string
	cpus    float64
	mem     float64
	env     []string
	fetch   []string
	user    string
}

func newRunCmd() *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run [--module] MODULE|--command CMD [flags] [-- ARGS...]",
		Short: "Run one task on the cluster and stream its output (what mesos-execute is to Mesos)",
		Long: `Run launches one task and streams its stdout and stderr while it runs, then
exits as a shell does after a command: with the task's exit code or, for a
native task that a signal ended, 128 plus the signal's number (137 for
SIGKILL, as after an OOM kill; 139 for SIGSEGV; 143 when the SIGTERM of a
kill ended it, as a drain's does; 137 again when the kill had to
escalate). A task that ended with neither (a Wasm task that trapped or
was killed, a launch that failed, a lost agent) exits 1; an interrupted
run exits 130.

MODULE is a .wasm file, the sha256 of a stored module, or a Go package
directory, which is built with GOOS=wasip1 GOARCH=wasm. With --command the
task is a native shell command instead.`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			// Only what follows -- goes to the task; before it there is
			// at most the module.
			dash := cmd.ArgsLenAtDash()
			var taskArgs []string
			if dash >= 0 {
				taskArgs = args[dash:]
				args = args[:dash]
			}
			if len(args) > 1 || (len(args) == 1 && f.module != "") {
				return fmt.Errorf("give one module, either as an argument or with --module (task arguments go after --)")
			}
			if len(args) == 1 {
				f.module = args[0]
			}
			if (f.module == "") == (f.command == "") {
				return errors.New("give exactly one of a module or --command")
			}
			ctx, stop := signalContext()
			defer stop()
			return runTask(ctx, cmd.OutOrStdout(), cmd.ErrOrStderr(), f, taskArgs)
		},
	}
	cmd.Flags().StringVar(&f.master, "master", "127.0.0.1:5050", "the masters, HOST:PORT[,HOST:PORT...]")
	cmd.Flags().StringVar(&f.module, "module", "", "a .wasm file, a stored module's sha256, or a Go package directory")
	cmd.Flags().StringVar(&f.command, "command", "", "a shell command to run as a native task")
	cmd.Flags().StringVar(&f.user, "user", "", "the user a --command task runs as (default: the agent's --task-user; root needs a run_tasks ACL naming it)")
	cmd.Flags().StringVar(&f.name, "name", "", "the task's name (default: derived from the module or command)")
	cmd.Flags().StringVar(&f.engine, "engine", "", "Wasm engine: wazero or wasmtime (default: the agent's)")
	cmd.Flags().StringVar(&f.role, "role", "*", "the role to take offers for")
	cmd.Flags().Float64Var(&f.cpus, "cpus", 0.1, "CPUs for the task")
	cmd.Flags().Float64Var(&f.mem, "mem", 128, "memory for the task, in MB")
	cmd.Flags().StringArrayVar(&f.env, "env", nil, "environment variable K=V (repeatable)")
	cmd.Flags().StringArrayVar(&f.fetch, "fetch", nil, "a URI to fetch into the task's sandbox before it starts; archives are extracted (repeatable)")
	return cmd
}

// runTask is mezzo run: upload, subscribe, launch, stream, exit.
func runTask(ctx context.Context, stdout, stderr io.Writer, f runFlags, args []string) error {
	ops := operatorFor(ctx, f.master)
	task, err := f.taskInfo(ctx, ops, args)
	if err != nil {
		return err
	}
	r := &runner{flags: f, ops: ops, task: task, stdout: stdout, stderr: stderr}
	// A one-shot run gives up on a master it cannot reach rather than
	// retrying for ever as a long-running framework would.
	principal, secret, _ := creds.credential() // checked in PersistentPreRunE
	var tlsCfg *tls.Config
	if id, _ := tlsf.load(); id != nil { // likewise
		tlsCfg = id.Client()
	}
	r.client = scheduler.New(scheduler.Config{Masters: splitList(f.master), MaxFailures: 3, TLS: tlsCfg,
		Principal: principal, Secret: secret, FailoverTimeout: runFailoverTimeout, Framework: api.FrameworkInfo{
			// No user: the task runs as the agent's default task user,
			// or as --user, rather than as whoever runs mezzo run (often
			// root, which the master refuses without an ACL naming it).
			Name: "mezzo-run " + task.Name, Roles: []string{f.role},
			Capabilities: []api.FrameworkCapability{{Type: api.CapMultiRole}, {Type: api.CapPartitionAware}},
		}})
	// Interrupted, the run tears its framework down, which kills its task
	// and ends Run; if no master answers within 5 s, Run ends all the
	// same, and the master removes the framework and kills the task once
	// runFailoverTimeout has passed.
	runCtx, cancelRun := context.WithCancel(context.Background())
	defer cancelRun()
	defer context.AfterFunc(ctx, func() {
		tctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = r.client.Teardown(tctx)
		cancelRun()
	})()
	err = r.client.Run(runCtx, r.handle)
	if r.done != nil {
		return r.done.exit(stderr)
	}
	if ctx.Err() != nil {
		return exitCode(130)
	}
	return err
}

// runFailoverTimeout is how long the masters keep a run's framework, and
// its task, while the run is not connected. With 0 a run did not survive
// its master's death: the new leader ended the framework at once and
// refused its re-subscription ("Framework has been removed").
const runFailoverTimeout = time.Minute

// taskInfo builds the task to launch; the agent ID is filled in per offer.
func (f *runFlags) taskInfo(ctx context.Context, ops *operator.Client, args []string) (api.TaskInfo, error) {
	env, err := parseEnv(f.env)
	if err != nil {
		return api.TaskInfo{}, err
	}
	t := api.TaskInfo{TaskID: api.TaskID{Value: "mezzo-run-" + randomHex(4)}, Name: f.name}
	t.Resources = []api.Resource{
		{Name: "cpus", Type: api.SCALAR, Scalar: &api.Scalar{Value: api.Float64(f.cpus)}},
		{Name: "mem", Type: api.SCALAR, Scalar: &api.Scalar{Value: api.Float64(f.mem)}},
	}
	var uris []api.CommandURI
	for _, uri := range f.fetch {
		uris = append(uris, api.CommandURI{Value: uri})
	}
	if f.user != "" && f.command == "" {
		return api.TaskInfo{}, errors.New("--user applies to a --command task only: a Wasm task runs inside its executor, as no user of its own")
	}
	if f.command != "" {
		if t.Name == "" {
			t.Name = strings.Fields(f.command + " task")[0]
		}
		t.Command = &api.CommandInfo{Value: f.command, Environment: env, URIs: uris, User: f.user}
		if len(args) > 0 {
			t.Command.Value += " " + shellQuote(args)
		}
		return t, nil
	}
	if len(uris) > 0 {
		t.Command = &api.CommandInfo{URIs: uris} // only to carry what to fetch
	}
	sha, name, err := resolveModule(ctx, ops, f.module)
	if err != nil {
		return api.TaskInfo{}, err
	}
	if t.Name == "" {
		t.Name = name
	}
	t.Container = &api.ContainerInfo{Type: api.ContainerWasm, Wasm: &api.WasmInfo{
		SHA256: sha, Engine: f.engine, Arguments: args, Environment: env,
	}}
	return t, nil
}

// resolveModule turns --module into a stored module's hash, building and
// uploading as needed. It returns the hash and a name for the task.
func resolveModule(ctx context.Context, ops *operator.Client, module string) (string, string, error) {
	if isHash(module) {
		return module, "module-" + module[:12], nil
	}
	wasm, name, err := readModule(ctx, module)
	if err != nil {
		return "", "", fmt.Errorf("--module: %w", err)
	}
	m, err := ops.PushModule(ctx, wasm)
	if err != nil {
		return "", "", err
	}
	return m.SHA256, name, nil
}

func isHash(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

func parseEnv(kvs []string) (*api.Environment, error) {
	if len(kvs) == 0 {
		return nil, nil
	}
	env := &api.Environment{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--env %q: want NAME=VALUE", kv)
		}
		env.Variables = append(env.Variables, api.EnvironmentVariable{Name: k, Value: v})
	}
	return env, nil
}

// shellQuote quotes arguments for /bin/sh.
func shellQuote(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// taskDone ends the event loop when the task reaches a terminal state.
type taskDone struct{ status api.TaskStatus }

func (d *taskDone) Error() string { return "task ended: " + string(d.status.State) }

// exit prints the outcome unless the task finished, and returns the exit
// code mezzo run should exit with (see shellStatus); without one, 0 for
// TASK_FINISHED and 1 for any other end.
func (d *taskDone) exit(stderr io.Writer) error {
	st := d.status
	if st.State != api.TaskFinished {
		msg := st.Message
		if st.Reason != "" {
			msg = string(st.Reason) + ": " + msg
		}
		fmt.Fprintf(stderr, "%s: %s\n", st.State, msg)
	}
	if code, ok := shellStatus(st); ok {
		if code == 0 {
			return nil
		}
		return exitCode(code)
	}
	if st.State == api.TaskFinished {
		return nil
	}
	return exitCode(1)
}

// shellStatus is the status a shell would report for the task's process,
// from st's labels: its exit code (api.ExitCodeLabel), or 128 plus the
// signal that ended it (api.SignalLabel), so that scripts that run a
// task through mezzo run tell an OOM kill (137) or a crash (139) from a
// failure as they would for a local command. ok is false when st says
// neither, as for a Wasm task that trapped or a task that never ran.
func shellStatus(st api.TaskStatus) (code int, ok bool) {
	if v, ok := st.Labels.Get(api.ExitCodeLabel); ok {
		if code, err := strconv.Atoi(v); err == nil {
			return code, true
		}
	}
	if v, ok := st.Labels.Get(api.SignalLabel); ok {
		if sig, err := strconv.Atoi(v); err == nil && sig > 0 && sig < 128 {
			return 128 + sig, true
		}
	}
	return 0, false
}
