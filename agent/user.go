package agent

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/sandbox"
)

// Native code runs as a user, as Mesos runs it: a command task as its
// CommandInfo.user, else its framework's FrameworkInfo.user, else the
// agent's default, Config.TaskUser (nobody when the agent runs as root).
// The master has already refused root without an explicit grant
// (master/authz.go, rootRefused); the agent adds what only it can check:
// that the user exists here, that no other name hides uid 0, and that a
// non-root agent runs nothing as anyone but itself. The built-in executor
// stays the agent's user (RATIONALE.md, "Why does the built-in executor
// not drop privileges?"); the native processes it starts, custom
// executors and COMMAND checks run as the task's user.

// defaultTaskUser is the name Config.TaskUser stands for: itself when
// set, else nobody for an agent running as root, else "" (the agent's own
// user, with no switch).
func defaultTaskUser(configured string) string {
	switch {
	case configured != "":
		return configured
	case os.Geteuid() == 0:
		return "nobody"
	}
	return ""
}

// checkTaskUser refuses a default task user that cannot work: one that
// does not exist, is root by uid (root is granted per task by the
// master's ACLs, never by default), or is not the agent's own user when
// the agent cannot switch users.
func checkTaskUser(name string) error {
	if name == "" {
		return nil
	}
	u, err := sandbox.LookupUser(name)
	if err != nil {
		return fmt.Errorf("agent config: TaskUser: %w", err)
	}
	if u.UID == 0 {
		return fmt.Errorf("agent config: TaskUser %q has uid 0: tasks run as root only when they ask for it and the master's run_tasks ACL names root", name)
	}
	if euid := os.Geteuid(); euid != 0 && uint32(euid) != u.UID {
		return fmt.Errorf("agent config: TaskUser %q (uid %d) is not the agent's own user (uid %d), and only an agent running as root can switch users", name, u.UID, euid)
	}
	return nil
}

// taskUser is the user name native code runs as, given the command that
// names one (nil for a Wasm task's checks) and its framework: "" means
// the agent's own user.
func (a *Agent) taskUser(fw *api.FrameworkInfo, c *api.CommandInfo) string {
	if name := api.RunAs(fw, c); name != "" {
		return name
	}
	return a.defaultUser
}

// lookupTaskUser resolves a user named by taskUser: nil for "" (run as
// the agent), else the user, or an error saying why native code cannot
// run as it here.
func (a *Agent) lookupTaskUser(name string) (*sandbox.User, error) {
	if name == "" {
		return nil, nil
	}
	u, err := sandbox.LookupUser(name)
	if err != nil {
		return nil, fmt.Errorf("run as user %q on agent %s: %w", name, a.cfg.Hostname, err)
	}
	if u.UID == 0 && name != "root" {
		return nil, fmt.Errorf("run as user %q on agent %s: it has uid 0, and only a user named root, granted by the master's run_tasks ACL, may run as uid 0", name, a.cfg.Hostname)
	}
	if euid := os.Geteuid(); euid != 0 && uint32(euid) != u.UID {
		return nil, fmt.Errorf("run as user %q on agent %s: the agent runs as uid %d and cannot switch users (only an agent running as root can)", name, a.cfg.Hostname, euid)
	}
	return u, nil
}

// withUser returns ti with the user its command runs as written into
// CommandInfo.user, so that the executor, and agent.db, know it; ti's
// CommandInfo is copied, not changed. Tasks without a command are
// returned as they are.
func (a *Agent) withUser(fw *api.FrameworkInfo, ti api.TaskInfo) api.TaskInfo {
	if ti.Command == nil || ti.IsWasm() {
		return ti
	}
	c := *ti.Command
	c.User = a.taskUser(fw, &c)
	ti.Command = &c
	return ti
}

// userOfTask is the user a task's native code — its command and its
// COMMAND checks — runs as, resolved; nil with no error when the task has
// none or runs it as the agent.
func (a *Agent) userOfTask(fw *api.FrameworkInfo, ti *api.TaskInfo) (*sandbox.User, error) {
	if (ti.Command == nil || ti.IsWasm()) && !ti.RunsCommandChecks() {
		return nil, nil
	}
	return a.lookupTaskUser(a.taskUser(fw, ti.Command))
}

// giveSandbox makes a native task's sandbox its user's (the directory,
// its stdout and stderr, what was fetched into it), after checking that
// the user can reach it. The executor's own files, and the directories of
// the executor's other tasks, stay as they are when the task runs in the
// executor's sandbox.
func giveSandbox(u *sandbox.User, dir string) error {
	if u == nil {
		return nil
	}
	if err := u.CheckReach(dir); err != nil {
		return err
	}
	return u.Chown(dir, "executor.stdout", "executor.stderr", "tasks")
}

// warnUnreachableSandboxes logs, once at start, when the default task
// user cannot reach the sandboxes (a work directory under /root, say):
// every native task would fail, each with the same message, and the
// operator is better told before the first one does.
func (a *Agent) warnUnreachableSandboxes() {
	if !a.cfg.AllowNative {
		return
	}
	u, err := a.lookupTaskUser(a.defaultUser)
	if err != nil || u == nil {
		return // New has checked the default user; nil runs as the agent
	}
	if err := u.CheckReach(filepath.Join(a.cfg.sandboxRoot(), "task")); err != nil {
		a.log.Warn("native tasks will fail until their user can reach the sandboxes", "err", err)
	}
}
