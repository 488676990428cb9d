package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// CommandSpec says what a native task runs, as Mesos's CommandInfo does.
type CommandSpec struct {
	// Shell runs Value with "/bin/sh -c Value"; Args are then ignored, as
	// in Mesos.
	Shell bool

	// Value is the shell command when Shell is set, and otherwise the
	// executable. An executable without a slash is looked up in the
	// task's PATH (Spec.Env's, or DefaultPath); a relative path with a
	// slash is relative to Spec.Dir.
	Value string

	// Args is the whole argv, argv[0] included, when Shell is not set.
	// Empty means argv is just Value. None may contain NUL.
	Args []string
}

// DefaultPath is the PATH a native task gets when Spec.Env has none: the
// conventional system directories, as Mesos gives. It is not the caller's
// PATH, so that a task's environment does not depend on how the executor
// was started.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// argv returns the executable and argv to run c in dir with env's PATH.
// A failure is the task's (a missing executable), not the caller's.
func (c CommandSpec) argv(dir string, env map[string]string) (path string, args []string, err error) {
	if c.Shell {
		return "/bin/sh", []string{"sh", "-c", c.Value}, nil
	}
	args = c.Args
	if len(args) == 0 {
		args = []string{c.Value}
	}
	path, err = lookPath(c.Value, dir, pathOf(env))
	return path, args, err
}

// check refuses what no OS can run.
func (c CommandSpec) check() error {
	if c.Value == "" {
		return errors.New("command value is empty")
	}
	if strings.ContainsRune(c.Value, 0) {
		return errors.New("command value contains NUL")
	}
	if c.Shell {
		return nil
	}
	return checkArgs(c.Args)
}

func pathOf(env map[string]string) string {
	if p, ok := env["PATH"]; ok {
		return p
	}
	return DefaultPath
}

// environ returns env as the task gets it, sorted by key, with DefaultPath
// added when there is no PATH.
func environ(env map[string]string) []string {
	list := make([]string, 0, len(env)+1)
	for _, k := range envKeys(env) {
		list = append(list, k+"="+env[k])
	}
	if _, ok := env["PATH"]; !ok {
		list = append(list, "PATH="+DefaultPath)
	}
	return list
}

// lookPath finds file as execvp would from dir with the given PATH,
// without reading the caller's environment (exec.LookPath reads the
// caller's PATH). A file with a slash is returned as it is; the child
// resolves a relative one after changing to dir.
func lookPath(file, dir, path string) (string, error) {
	if strings.Contains(file, "/") {
		return file, nil
	}
	for _, d := range filepath.SplitList(path) {
		if d == "" {
			d = "." // POSIX: an empty entry is the working directory
		}
		p := filepath.Join(d, file)
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("executable %q not found in PATH %q", file, path)
}
