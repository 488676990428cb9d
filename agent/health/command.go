package health

import (
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/sandbox"
)

// defaultPath is searched for a non-shell command when the task's
// environment has no PATH.
const defaultPath = "/usr/local/bin:/usr/bin:/bin"

// commandProbe is healthy when a command exits 0. It runs in the task's
// sandbox with the task's environment, in a process group of its own.
type commandProbe struct {
	path    string // "" when the program was not found; err says why
	args    []string
	dir     string
	env     []string
	timeout time.Duration
	user    *sandbox.User // nil: the caller's
	start   func(*exec.Cmd) error
	err     error
}

// newCommandProbe prepares c as Mesos runs it: "/bin/sh -c value" for a
// shell command, else value run with arguments as its argv (value alone
// when there are none). The environment is t.Env overlaid with the
// command's own VALUE variables; nothing is inherited from the agent.
func newCommandProbe(c *api.CommandInfo, t Target, timeout time.Duration) *commandProbe {
	env := maps.Clone(t.Env)
	if env == nil {
		env = map[string]string{}
	}
	maps.Copy(env, c.Environment.Map())
	p := &commandProbe{dir: t.Dir, timeout: timeout, user: t.User, start: t.Start}
	if p.start == nil {
		p.start = (*exec.Cmd).Start
	}
	for _, k := range slices.Sorted(maps.Keys(env)) {
		p.env = append(p.env, k+"="+env[k])
	}
	if c.IsShell() {
		p.path, p.args = "/bin/sh", []string{"sh", "-c", c.Value}
		return p
	}
	p.args = c.Arguments
	if len(p.args) == 0 {
		p.args = []string{c.Value}
	}
	p.path, p.err = lookPath(c.Value, env["PATH"], t.Dir)
	return p
}

// lookPath finds name as execvp would, but in the task's PATH rather than
// the agent's.
func lookPath(name, path, dir string) (string, error) {
	if strings.Contains(name, "/") {
		if !filepath.IsAbs(name) && dir != "" {
			name = filepath.Join(dir, name)
		}
		return name, nil
	}
	if path == "" {
		path = defaultPath
	}
	for _, d := range filepath.SplitList(path) {
		if d == "" {
			d = "."
		}
		if !filepath.IsAbs(d) && dir != "" {
			d = filepath.Join(dir, d)
		}
		f := filepath.Join(d, name)
		if st, err := os.Stat(f); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return f, nil
		}
	}
	return "", fmt.Errorf("%q not found in PATH %q", name, path)
}

func (p *commandProbe) probe(ctx context.Context) outcome {
	if p.err != nil {
		return outcome{msg: "COMMAND check could not start: " + p.err.Error()}
	}
	ctx, cancel := withTimeout(ctx, p.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.path)
	cmd.Args, cmd.Dir, cmd.Env = p.args, p.dir, p.env
	if err := ownGroup(cmd, p.user); err != nil {
		return outcome{msg: "COMMAND check could not start: " + err.Error()}
	}
	// Output goes nowhere (nil is /dev/null), so Wait has no pipes to drain
	// and returns as soon as the process is gone.
	err := p.start(cmd)
	if err != nil {
		return outcome{msg: "COMMAND check could not start: " + err.Error()}
	}
	err = cmd.Wait()
	// Nothing the check started outlives it.
	killGroup(cmd.Process.Pid)
	return commandOutcome(cmd.ProcessState, err, ctx.Err() != nil, p.timeout)
}

func commandOutcome(ps *os.ProcessState, err error, timedOut bool, timeout time.Duration) outcome {
	switch {
	case timedOut:
		return outcome{msg: fmt.Sprintf("COMMAND check timed out after %v", timeout)}
	case ps != nil && ps.Exited():
		code := ps.ExitCode()
		o := outcome{ok: code == 0, result: result{known: true, value: int64(code)}}
		o.msg = fmt.Sprintf("COMMAND check exited with status %d", code)
		return o
	case ps != nil:
		return outcome{msg: "COMMAND check ended: " + ps.String()}
	}
	return outcome{msg: fmt.Sprintf("COMMAND check failed: %v", err)}
}
