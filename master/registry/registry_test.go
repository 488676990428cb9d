package registry

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// member is one master of a test cluster: a real listener on loopback, a
// Mux and a Registry over files in its own directory.
type member struct {
	dir  string
	addr string
	mux  *Mux
	reg  *Registry
}

// testConfig returns short timers: the machine is shared and the race
// detector slows everything, so they stay well above a loopback round trip.
func testConfig(dir, addr string, peers []string, mux *Mux) Config {
	cfg := DefaultConfig()
	cfg.Dir, cfg.Addr, cfg.Peers, cfg.Transport = dir, addr, peers, mux.Raft()
	return cfg
}

// startMember listens on addr (or a free port when addr is "") and opens a
// registry there.
func startMember(t testing.TB, dir, addr string, peers []string) *member {
	t.Helper()
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return openMember(t, dir, ln, peers)
}

func openMember(t testing.TB, dir string, ln net.Listener, peers []string) *member {
	t.Helper()
	mux := NewMux(ln)
	addr := ln.Addr().String()
	reg, err := Open(context.Background(), testConfig(dir, addr, peers, mux))
	if err != nil {
		mux.Close()
		t.Fatal(err)
	}
	m := &member{dir: dir, addr: addr, mux: mux, reg: reg}
	t.Cleanup(m.stop)
	return m
}

func (m *member) stop() {
	if m.reg != nil {
		m.reg.Close()
		m.reg = nil
	}
	m.mux.Close()
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func leaderOf(members []*member) *member {
	for _, m := range members {
		if m.reg != nil && m.reg.IsLeader() {
			return m
		}
	}
	return nil
}

// TestSingleMasterRestart applies through a cluster of one, stops it and
// opens it again on the same address: the state is there and the master
// leads again without any peer.
func TestSingleMasterRestart(t *testing.T) {
	dir := t.TempDir()
	m := startMember(t, dir, "", nil)
	waitFor(t, "a leader", m.reg.IsLeader)
	ctx := context.Background()
	if err := m.reg.Apply(ctx, PutFramework(Framework{ID: "f1"})); err != nil {
		t.Fatal(err)
	}
	if err := m.reg.Apply(ctx, LaunchTasks("L1", sampleTask("f1", "t1"))); err != nil {
		t.Fatal(err)
	}
	addr := m.addr
	m.stop()

	m = startMember(t, dir, addr, nil)
	waitFor(t, "a leader after the restart", m.reg.IsLeader)
	if err := m.reg.Barrier(ctx); err != nil {
		t.Fatal(err)
	}
	s, err := m.reg.Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Frameworks) != 1 || len(s.Tasks) != 1 {
		t.Fatalf("after restart: frameworks %v tasks %v", s.Frameworks, s.Tasks)
	}
	if err := m.reg.Apply(ctx, LaunchTasks("L1", sampleTask("f1", "t1"))); !errors.Is(err, ErrDuplicate) {
		t.Errorf("a launch retried after the restart answered %v, want ErrDuplicate", err)
	}
}

// TestRestartAtAnotherAddress opens a cluster of one's registry again at
// a different address: Open refuses it at once, naming both addresses,
// instead of starting a member that waits for ever for a leader.
func TestRestartAtAnotherAddress(t *testing.T) {
	dir := t.TempDir()
	m := startMember(t, dir, "", nil)
	waitFor(t, "a leader", m.reg.IsLeader)
	old := m.addr
	m.stop()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := NewMux(ln)
	defer mux.Close()
	addr := ln.Addr().String()
	reg, err := Open(context.Background(), testConfig(dir, addr, nil, mux))
	if err == nil {
		reg.Close()
		t.Fatalf("Open at %s of the registry of %s succeeded", addr, old)
	}
	if !errors.Is(err, ErrNotMember) || !strings.Contains(err.Error(), old) || !strings.Contains(err.Error(), addr) {
		t.Fatalf("Open at another address: %v; want ErrNotMember naming %s and %s", err, old, addr)
	}
	// Nothing was left open: a second try gets the same answer, not a
	// timeout on registry.db's lock.
	if reg, err := Open(context.Background(), testConfig(dir, addr, nil, mux)); !errors.Is(err, ErrNotMember) {
		if reg != nil {
			reg.Close()
		}
		t.Fatalf("a second Open at another address: %v; want ErrNotMember", err)
	}
}

// listenPeers opens n loopback listeners, one per member to be, and
// returns them with their addresses (the cluster's peers).
func listenPeers(t *testing.T, n int) ([]net.Listener, []string) {
	t.Helper()
	var lns []net.Listener
	var peers []string
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		peers = append(peers, ln.Addr().String())
	}
	return lns, peers
}

func startCluster(t *testing.T, n int) []*member {
	t.Helper()
	lns, peers := listenPeers(t, n)
	base := t.TempDir()
	var ms []*member
	for i, ln := range lns {
		ms = append(ms, openMember(t, filepath.Join(base, fmt.Sprint(i)), ln, peers))
	}
	return ms
}

// TestClusterFailover runs three masters on loopback: what the leader
// applies reaches the standbys; when it stops, another takes over with the
// state, and when it comes back it catches up as a standby.
func TestClusterFailover(t *testing.T) {
	ms := startCluster(t, 3)
	var leader *member
	waitFor(t, "a leader", func() bool { leader = leaderOf(ms); return leader != nil })
	ctx := context.Background()
	for i := range 5 {
		if err := leader.reg.Apply(ctx, PutWeight(fmt.Sprint("role", i), float64(i+1))); err != nil {
			t.Fatal(err)
		}
	}
	if err := leader.reg.Apply(ctx, LaunchTasks("L1", sampleTask("f1", "t1"))); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		waitFor(t, "replication to "+m.addr, func() bool {
			s, err := m.reg.Load()
			return err == nil && len(s.Weights) == 5 && len(s.Tasks) == 1
		})
		// Every replica dates the launch's Once ID by the time the leader
		// appended it, so that all forget it at the same entry.
		var key []byte
		m.reg.fsm.View(func(tx *bolt.Tx) error {
			key, _ = tx.Bucket([]byte(bucketOnceAge)).Cursor().First()
			return nil
		})
		if len(key) < 8 || binary.BigEndian.Uint64(key) == 0 {
			t.Errorf("%s holds the Once ID's age as %x, want the time it was appended", m.addr, key)
		}
	}
	for _, m := range ms {
		if m != leader && m.reg.Leader() != leader.addr {
			t.Errorf("%s thinks the leader is %q, want %s", m.addr, m.reg.Leader(), leader.addr)
		}
		if m != leader {
			if err := m.reg.Apply(ctx, PutWeight("x", 1)); !errors.Is(err, ErrNotLeader) {
				t.Errorf("a standby applied: %v", err)
			}
		}
	}
	oldTerm := leader.reg.Term()
	oldDir, oldAddr := leader.dir, leader.addr
	leader.stop()

	var next *member
	waitFor(t, "a new leader", func() bool { next = leaderOf(ms); return next != nil && next != leader })
	if next.reg.Term() <= oldTerm {
		t.Errorf("new leader's term %d is not above the old %d", next.reg.Term(), oldTerm)
	}
	if err := next.reg.Barrier(ctx); err != nil {
		t.Fatal(err)
	}
	if err := next.reg.Apply(ctx, PutWeight("after", 9)); err != nil {
		t.Fatal(err)
	}
	s, _ := next.reg.Load()
	if len(s.Weights) != 6 {
		t.Errorf("new leader holds %v", s.Weights)
	}

	back := startMember(t, oldDir, oldAddr, nil) // rejoins from its log; --peers is not needed again
	waitFor(t, "the old leader to catch up", func() bool {
		s, err := back.reg.Load()
		return err == nil && s.Weights["after"] == 9
	})
	if back.reg.IsLeader() && next.reg.IsLeader() {
		t.Error("two leaders")
	}
}

// TestMembershipChange adds a fourth and a fifth master to a cluster of
// three, which catch up with the state, then removes one of the first.
func TestMembershipChange(t *testing.T) {
	ms := startCluster(t, 3)
	var leader *member
	waitFor(t, "a leader", func() bool { leader = leaderOf(ms); return leader != nil })
	ctx := context.Background()
	if err := leader.reg.Apply(ctx, PutWeight("web", 3)); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		mux := NewMux(ln)
		cfg := testConfig(t.TempDir(), ln.Addr().String(), nil, mux)
		cfg.Join = true
		reg, err := Open(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		joined := &member{dir: cfg.Dir, addr: cfg.Addr, mux: mux, reg: reg}
		t.Cleanup(joined.stop)
		if err := leader.reg.AddMaster(ctx, joined.addr); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the new master to catch up", func() bool {
			s, err := joined.reg.Load()
			return err == nil && s.Weights["web"] == 3
		})
		ms = append(ms, joined)
	}
	servers, err := leader.reg.Servers()
	if err != nil || len(servers) != 5 {
		t.Fatalf("servers = %v, %v", servers, err)
	}
	var victim *member
	for _, m := range ms[:3] {
		if m != leader {
			victim = m
			break
		}
	}
	if err := leader.reg.RemoveMaster(ctx, victim.addr); err != nil {
		t.Fatal(err)
	}
	if servers, _ := leader.reg.Servers(); len(servers) != 4 {
		t.Errorf("after removal: %v", servers)
	}
	if err := leader.reg.Apply(ctx, PutWeight("after", 1)); err != nil {
		t.Error(err)
	}
}
