// Package agent is the Mezzo agent: it subscribes to a master, offers its
// machine's resources, runs the tasks the master launches in executor
// processes (`mezzo executor`, package cmd/mezzo/internal/executor, one per framework
// and executor, which run WebAssembly modules and native processes in
// sandbox directories), and delivers their status updates at least once.
//
// A tour:
//
//	cfg := agent.DefaultConfig()
//	cfg.Masters = []string{"master1:5050"}
//	cfg.WorkDir = "/var/lib/mezzo/agent"
//	cfg.ExecutorCommand = []string{"/usr/bin/mezzo", "executor"}
//	a, err := agent.New(ctx, cfg)
//	go http.Serve(listener, a.Handler())     // executor and files APIs on 5051
//	err = a.Run(ctx)                         // until ctx ends
//
// The agent dials the master and keeps one event stream open; status
// updates go up as separate calls, each sent again with backoff until the
// framework acknowledges it. Executors call the agent's v1 Executor API
// (POST /api/v1/executor) on its port; the agent checkpoints them in
// agent.db, so that an agent killed and started again on the same work
// directory and port finds them re-subscribing, their tasks still running
// (Config.Recover). Sandboxes live under
// <work_dir>/sandboxes/<framework>/<executor>/runs/<container>, with
// runs/latest pointing at the newest run.
//
// Tasks that name no executor run in their framework's shared executor
// (one per framework on the agent, kept warm for
// Config.ExecutorIdleTimeout after its last task), each in
// tasks/<task ID> of its sandbox; every update the agent passes on names
// the task's sandbox in the label api.SandboxLabel. A Wasm task on wazero
// runs alone in an executor of its own, which the agent kills when the
// task's CPU time runs past its budget (RATIONALE.md). Where cgroups are
// usable every executor runs in a cgroup of its own (cgroup.go), capped
// at its tasks' memory plus overheads, with its native tasks' cgroups
// nested inside; an executor the kernel kills there fails its tasks with
// REASON_CONTAINER_LIMITATION_MEMORY.
//
// Native code runs as a user (user.go): a native task as its
// CommandInfo.user, else its framework's FrameworkInfo.user, else
// Config.TaskUser (nobody for an agent running as root); custom executors
// and COMMAND checks likewise. The agent gives the task its sandbox
// before the launch reaches the executor, and fails the task when the
// user does not exist here. Root comes only from the master's run_tasks
// ACL (SECURITY.md).
//
// An Agent is safe for concurrent use.
package agent
