//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"syscall"
	"time"

	"github.com/mezzo-cluster/mezzo/sdk/operator"
)

// buildMezzo builds the mezzo binary once into dir, as the e2e tests do.
func buildMezzo(ctx context.Context, repo, dir string) (string, error) {
	bin := filepath.Join(dir, "mezzo")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/mezzo")
	cmd.Dir = repo
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build mezzo: %w\n%s", err, out)
	}
	return bin, nil
}

// buildModule builds a Go package for wasip1 and returns the .wasm path.
func buildModule(ctx context.Context, repo, dir, pkg string) (string, error) {
	wasm := filepath.Join(dir, filepath.Base(pkg)+".wasm")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", wasm, pkg)
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build module %s: %w\n%s", pkg, err, out)
	}
	return wasm, nil
}

// daemon is a running mezzo master or agent process.
type daemon struct {
	name string
	cmd  *exec.Cmd
	log  string // its stderr, in a file
	done chan struct{}
}

// startDaemon starts `mezzo args...` with its output in logPath and,
// when waitAddr is set, waits for its "master listening" log line and
// returns the address it names.
//
// The output goes straight to the file, not through a pipe this process
// reads: a daemon logs with its locks held (the master logs every task it
// launches), and a pipe that this busy process drains late would stall
// it — which it did, in a C1M run, at a few hundred tasks per second.
func startDaemon(ctx context.Context, bin, name, logPath string, waitAddr bool, args ...string) (*daemon, string, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, "", fmt.Errorf("start %s: %w", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, "", fmt.Errorf("start %s: %w", name, err)
	}
	d := &daemon{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		cmd.Wait()
		logf.Close()
		close(d.done)
	}()
	if !waitAddr {
		return d, "", nil
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if b, err := os.ReadFile(logPath); err == nil {
			if m := listening.FindSubmatch(b); m != nil {
				return d, string(m[1]), nil
			}
		}
		select {
		case <-d.done:
			return nil, "", fmt.Errorf("start %s: exited early; see %s", name, logPath)
		case <-ctx.Done():
			d.stop()
			return nil, "", fmt.Errorf("start %s: %w", name, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			d.stop()
			return nil, "", fmt.Errorf("start %s: no address logged within 30s; see %s", name, logPath)
		}
	}
}

var listening = regexp.MustCompile(`msg="master listening" url=http://(\S+)`)

// pid is the daemon's process ID.
func (d *daemon) pid() int { return d.cmd.Process.Pid }

// stop sends SIGTERM and waits for the daemon to exit (SIGKILL after 30 s).
func (d *daemon) stop() {
	select {
	case <-d.done:
		return
	default:
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(30 * time.Second):
		_ = d.cmd.Process.Kill()
		<-d.done
	}
}

// cluster is one real master and, optionally, one real agent.
type cluster struct {
	addr          string
	master, agent *daemon
}

// clusterOptions say what to start.
type clusterOptions struct {
	dir        string   // work and log directory
	agent      bool     // start an agent too
	resources  string   // the agent's --resources
	engine     string   // the agent's --wasm-engine
	masterArgs []string // extra flags for the master
	agentArgs  []string // extra flags for the agent
}

// startCluster starts a master (and an agent) and waits until the agent
// has registered.
func startCluster(ctx context.Context, bin string, o clusterOptions) (*cluster, error) {
	margs := append([]string{"master", "--port", "0", "--work-dir", filepath.Join(o.dir, "master")}, o.masterArgs...)
	m, addr, err := startDaemon(ctx, bin, "master", filepath.Join(o.dir, "master.log"), true, margs...)
	if err != nil {
		return nil, err
	}
	c := &cluster{addr: addr, master: m}
	if !o.agent {
		return c, nil
	}
	aargs := []string{"agent", "--master", addr, "--port", "0", "--work-dir", filepath.Join(o.dir, "agent"), "--allow-native"}
	if o.resources != "" {
		aargs = append(aargs, "--resources", o.resources)
	}
	if o.engine != "" {
		aargs = append(aargs, "--wasm-engine", o.engine)
	}
	aargs = append(aargs, o.agentArgs...)
	a, _, err := startDaemon(ctx, bin, "agent", filepath.Join(o.dir, "agent.log"), false, aargs...)
	if err != nil {
		c.stop()
		return nil, err
	}
	c.agent = a
	op := operator.New(addr)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := op.Agents(ctx)
		if err == nil && len(resp.Agents) > 0 {
			return c, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			c.stop()
			return nil, fmt.Errorf("agent did not register within 30s (%v); see %s", err, a.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop stops the agent, then the master.
func (c *cluster) stop() {
	if c.agent != nil {
		c.agent.stop()
	}
	c.master.stop()
}
