package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

// runDevReplicated is `mezzo dev --masters N`: N `mezzo master` processes,
// replicated among themselves, and an agent in this process that knows
// them all. The masters are separate processes so that a person can kill
// one (kill -9) and watch another take over.
func runDevReplicated(ctx context.Context, cmd *cobra.Command, d daemonFlags, mf masterFlags, a agentFlags, port, n int) (err error) {
	if n != 3 && n != 5 {
		return fmt.Errorf("--masters %d: run 1, 3 or 5 masters", n)
	}
	if a.port, err = devAgentPort(port, n, a.port, cmd.Flags().Changed("agent-port")); err != nil {
		return err
	}
	addrs, err := devMasterAddrs(d.host, port, n)
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find the mezzo binary to start masters with: %w", err)
	}
	var procs []*exec.Cmd
	defer func() {
		for _, p := range procs {
			p.Process.Signal(syscall.SIGTERM)
		}
		for _, p := range procs {
			p.Wait()
		}
	}()
	for i, addr := range addrs {
		_, p, _ := net.SplitHostPort(addr)
		args := []string{"master", "--host", d.host, "--port", p, "--peers", strings.Join(addrs, ","),
			"--work-dir", filepath.Join(d.workDir, fmt.Sprintf("master%d", i)),
			"--agent-reregister-timeout", mf.agentReregisterTimeout.String()}
		if mf.offerTimeout > 0 {
			args = append(args, "--offer-timeout", mf.offerTimeout.String())
		}
		args = append(args, "--min-allocatable-resources", mf.minAllocatable)
		c := exec.Command(self, args...)
		c.Stderr = os.Stderr
		if err := c.Start(); err != nil {
			return fmt.Errorf("start master %d: %w", i, err)
		}
		procs = append(procs, c)
	}
	aln, err := listen(d.host, a.port)
	if err != nil {
		return err
	}
	cfg, err := a.config(filepath.Join(d.workDir, "agent"), d.host, aln, addrs)
	if err != nil {
		return err
	}
	if cfg, err = reachableDevAgent(cmd, cfg); err != nil {
		return err
	}
	ag, err := newAgent(ctx, cfg, aln)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "mezzo dev: %d masters and an agent are up\n", n)
	for i, addr := range addrs {
		fmt.Fprintf(out, "  master %d: http://%s (pid %d)\n", i, addr, procs[i].Process.Pid)
	}
	fmt.Fprintf(out, "  state: %s\n", d.workDir)
	fmt.Fprintf(out, "Try: mezzo agents --master %s\n", strings.Join(addrs, ","))
	fmt.Fprintf(out, "The leader logs \"leading\" and its /metrics say mezzo_master_elected 1: kill -9 its pid and watch another take over.\n")
	fmt.Fprintf(out, "Press Ctrl-C to stop.\n")
	return runAgent(ctx, ag, aln)
}

// devAgentPort is the dev agent's port beside n masters on ports from
// port up: the agent's default, 5051, is the second master's, so an agent
// port not given (explicit false) that falls among the masters' moves to
// the first port after them; one given there is an error.
func devAgentPort(port, n, agentPort int, explicit bool) (int, error) {
	if port == 0 || agentPort == 0 || agentPort < port || agentPort >= port+n {
		return agentPort, nil
	}
	if explicit {
		return 0, fmt.Errorf("--agent-port %d is one of the masters' ports (%d to %d)", agentPort, port, port+n-1)
	}
	return port + n, nil
}

// devMasterAddrs picks the masters' addresses: port, port+1, ... or, with
// port 0, free ports.
func devMasterAddrs(host string, port, n int) ([]string, error) {
	var addrs []string
	for i := range n {
		p := 0
		if port != 0 {
			p = port + i
		}
		ln, err := listen(host, p)
		if err != nil {
			return nil, err
		}
		addrs = append(addrs, ln.Addr().String())
		ln.Close()
	}
	// The ports were free a moment ago; the masters bind them at once.
	return addrs, nil
}
