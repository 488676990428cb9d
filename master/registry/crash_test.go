package registry

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// crashChildEnv makes the test binary the child of TestCrashDuringWrites:
// a lone master writing as fast as it can until it is killed.
const crashChildEnv = "MEZZO_REGISTRY_CRASH_CHILD"

func TestMain(m *testing.M) {
	if spec := os.Getenv(crashChildEnv); spec != "" {
		os.Exit(crashChild(spec))
	}
	os.Exit(m.Run())
}

// crashChild opens the registry in dir on addr ("dir|addr") and applies
// numbered writes, printing "ok N" after raft acknowledged write N.
func crashChild(spec string) int {
	dir, addr, _ := strings.Cut(spec, "|")
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	mux := NewMux(ln)
	cfg := DefaultConfig()
	cfg.Dir, cfg.Addr, cfg.Transport = dir, addr, mux.Raft()
	cfg.SnapshotThreshold = 64 // snapshots and log compaction happen mid-run too
	reg, err := Open(context.Background(), cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	for !reg.IsLeader() {
		time.Sleep(5 * time.Millisecond)
	}
	out := bufio.NewWriter(os.Stdout)
	s, err := reg.Load()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	for i := len(s.Weights); ; i++ {
		if err := reg.Apply(context.Background(), PutWeight(strconv.Itoa(i), float64(i))); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		fmt.Fprintf(out, "ok %d\n", i)
		out.Flush()
	}
}

// TestCrashDuringWrites kills a master with SIGKILL in the middle of its
// writes, many times over the same files: every time, registry.db and the
// raft log open and pass bbolt's consistency check, and every write raft
// acknowledged before the kill is in the state after the restart.
// MEZZO_CRASH_RUNS sets the number of kills (default 8; 100 for the long
// run reported in RATIONALE.md).
func TestCrashDuringWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills processes")
	}
	runs := 8
	if n, err := strconv.Atoi(os.Getenv("MEZZO_CRASH_RUNS")); err == nil && n > 0 {
		runs = n
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	acked := -1
	for run := range runs {
		last := crashOnce(t, dir, addr)
		acked = max(acked, last)
		for _, f := range []string{filepath.Join(dir, "registry.db"), filepath.Join(dir, "raft", "raft.db")} {
			if err := CheckFile(f); err != nil {
				t.Fatalf("run %d: %s fails bbolt's check after SIGKILL: %v", run, f, err)
			}
		}
		// Reopen here: raft applies what it committed and the FSM missed.
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		m := openMember(t, dir, ln, nil)
		waitFor(t, "the restarted master to lead", m.reg.IsLeader)
		if err := m.reg.Barrier(context.Background()); err != nil {
			t.Fatal(err)
		}
		s, err := m.reg.Load()
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i <= acked; i++ {
			if s.Weights[strconv.Itoa(i)] != float64(i) {
				t.Fatalf("run %d: write %d was acknowledged before the kill and is lost (state holds %d writes)", run, i, len(s.Weights))
			}
		}
		m.stop()
	}
	t.Logf("%d kills, %d acknowledged writes, none lost", runs, acked+1)
}

// crashOnce runs the child until it has acknowledged a few writes, kills it
// after a random moment, and returns the last write it acknowledged.
func crashOnce(t *testing.T, dir, addr string) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir+"|"+addr)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan int)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var n int
			if _, err := fmt.Sscanf(sc.Text(), "ok %d", &n); err == nil {
				lines <- n
			}
		}
	}()
	last := -1
	select {
	case n, ok := <-lines:
		if !ok {
			cmd.Wait()
			t.Fatal("the child exited before writing")
		}
		last = n
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("the child wrote nothing")
	}
	kill := time.After(time.Duration(rand.IntN(200)) * time.Millisecond)
	for {
		select {
		case n, ok := <-lines:
			if ok {
				last = n
				continue
			}
		case <-kill:
			cmd.Process.Kill()
			kill = nil
			continue
		}
		break
	}
	cmd.Wait()
	return last
}
