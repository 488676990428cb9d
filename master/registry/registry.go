package registry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
)

// Config configures a Registry. Dir, Addr and Transport are required; the
// timers default to DefaultConfig's.
type Config struct {
	// Dir holds registry.db and raft/ (the log, stable store and
	// snapshots).
	Dir string
	// Addr is this master's host:port, its raft server ID and address.
	Addr string
	// Peers are every master's host:port, this one's included or not.
	// Empty means a cluster of one.
	Peers []string
	// Join starts a master that an operator adds to a running cluster
	// (AddMaster): it bootstraps nothing and waits for the leader to reach
	// it. A master that bootstrapped a cluster of its own could not join
	// another one.
	Join bool
	// Transport carries raft between masters (Mux.Raft).
	Transport raft.StreamLayer
	// HeartbeatTimeout, ElectionTimeout and LeaderLeaseTimeout are raft's
	// timers; why these values: RATIONALE.md, "Why these raft timers?".
	HeartbeatTimeout   time.Duration
	ElectionTimeout    time.Duration
	LeaderLeaseTimeout time.Duration
	// SnapshotThreshold is how many log entries trigger a snapshot.
	SnapshotThreshold uint64
	// Logger receives raft's warnings and the registry's own messages.
	Logger *slog.Logger
}

// DefaultConfig returns timers tuned for masters on one network (raft's
// defaults are for a WAN: 1 s heartbeat and election timeouts).
func DefaultConfig() Config {
	return Config{
		HeartbeatTimeout:   500 * time.Millisecond,
		ElectionTimeout:    500 * time.Millisecond,
		LeaderLeaseTimeout: 500 * time.Millisecond,
		SnapshotThreshold:  8192,
	}
}

// Validate names the first setting that cannot work.
func (c Config) Validate() error {
	switch {
	case c.Dir == "":
		return errors.New("registry config: Dir is required")
	case c.Addr == "":
		return errors.New("registry config: Addr is required")
	case c.Transport == nil:
		return errors.New("registry config: Transport is required")
	case c.HeartbeatTimeout <= 0 || c.ElectionTimeout <= 0 || c.LeaderLeaseTimeout <= 0:
		return errors.New("registry config: HeartbeatTimeout, ElectionTimeout and LeaderLeaseTimeout must be positive")
	case c.LeaderLeaseTimeout > c.HeartbeatTimeout:
		return fmt.Errorf("registry config: LeaderLeaseTimeout %v exceeds HeartbeatTimeout %v", c.LeaderLeaseTimeout, c.HeartbeatTimeout)
	case !c.Join && len(c.servers())%2 == 0:
		return fmt.Errorf("registry config: %d masters cannot keep a majority through a failure; run 1, 3 or 5", len(c.servers()))
	}
	return nil
}

// servers is the cluster: Addr and Peers, each once, sorted.
func (c Config) servers() []string {
	all := append([]string{c.Addr}, c.Peers...)
	slices.Sort(all)
	return slices.Compact(all)
}

// Registry is this master's member of the raft cluster and its replica of
// the state.
type Registry struct {
	cfg       Config
	fsm       *FSM
	raft      *raft.Raft
	logs      *raftboltdb.BoltStore
	stable    *stableStore // logs as raft's StableStore, closed before logs
	transport *raft.NetworkTransport
	log       *slog.Logger
}

// Open starts this master's raft member over cfg.Dir: the first time, it
// bootstraps the cluster of cfg.Peers (every master bootstraps the same
// configuration, which raft allows); afterwards it rejoins with the
// configuration in its log.
func Open(ctx context.Context, cfg Config) (*Registry, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("component", "registry")
	raftDir := filepath.Join(cfg.Dir, "raft")
	if err := os.MkdirAll(raftDir, 0o700); err != nil {
		return nil, fmt.Errorf("open registry: %w", err)
	}
	fsm, err := OpenFSM(filepath.Join(cfg.Dir, "registry.db"))
	if err != nil {
		return nil, err
	}
	r := &Registry{cfg: cfg, fsm: fsm, log: log}
	if err := r.start(raftDir); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

func (r *Registry) start(raftDir string) error {
	logs, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(raftDir, "raft.db"), BoltOptions: boltOptions()})
	if err != nil {
		return fmt.Errorf("open raft log: %w", err)
	}
	r.logs = logs
	hlog := hclog.New(&hclog.LoggerOptions{Name: "raft", Level: hclog.Warn, Output: os.Stderr})
	snaps, err := raft.NewFileSnapshotStoreWithLogger(raftDir, 2, hlog)
	if err != nil {
		return fmt.Errorf("open raft snapshots: %w", err)
	}
	r.transport = raft.NewNetworkTransportWithLogger(r.cfg.Transport, 5, 2*time.Second, hlog)
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(r.cfg.Addr)
	rc.HeartbeatTimeout = r.cfg.HeartbeatTimeout
	rc.ElectionTimeout = r.cfg.ElectionTimeout
	rc.LeaderLeaseTimeout = r.cfg.LeaderLeaseTimeout
	if r.cfg.SnapshotThreshold > 0 {
		rc.SnapshotThreshold = r.cfg.SnapshotThreshold
	}
	rc.NoSnapshotRestoreOnStart = true // registry.db is durable itself
	// Entries submitted together (Start) are stored with one fsync;
	// without a buffered queue raft takes them one at a time.
	rc.BatchApplyCh = true
	rc.Logger = hlog
	existing, err := raft.HasExistingState(logs, logs, snaps)
	if err != nil {
		return fmt.Errorf("read raft state: %w", err)
	}
	if !existing && !r.cfg.Join {
		var servers []raft.Server
		for _, s := range r.cfg.servers() {
			servers = append(servers, raft.Server{ID: raft.ServerID(s), Address: raft.ServerAddress(s)})
		}
		if err := raft.BootstrapCluster(rc, logs, logs, snaps, r.transport, raft.Configuration{Servers: servers}); err != nil {
			return fmt.Errorf("bootstrap the cluster of %v: %w", r.cfg.servers(), err)
		}
		r.log.Info("bootstrapped a new cluster", "masters", r.cfg.servers())
	}
	r.stable = &stableStore{store: logs}
	ra, err := raft.NewRaft(rc, r.fsm, logs, r.stable, snaps, r.transport)
	if err != nil {
		return fmt.Errorf("start raft: %w", err)
	}
	r.raft = ra
	if existing && !r.cfg.Join {
		return r.checkMember()
	}
	return nil
}

// ErrNotMember is returned by Open for a registry whose stored cluster
// does not include this master's address: raft would start it as a
// non-voter that never elects itself nor hears from a leader, and the
// master would wait for ever without a word beyond raft's own warning.
// It happens when a master restarts on its work directory at another
// address (another --port, a --port of 0), or after an operator removed
// it from the cluster.
var ErrNotMember = errors.New("registry: this master is not a member of the stored cluster")

// checkMember refuses to go on when the stored configuration leaves this
// master out, naming the masters it holds. A joining master is spared:
// until the leader's configuration reaches it, its own may not hold it.
func (r *Registry) checkMember() error {
	f := r.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return fmt.Errorf("read the stored cluster: %w", err)
	}
	var members []string
	for _, s := range f.Configuration().Servers {
		if s.ID == raft.ServerID(r.cfg.Addr) {
			return nil
		}
		members = append(members, string(s.ID))
	}
	return fmt.Errorf("%w: %s holds a cluster of %v, and this master is %s: start it at the address it had, "+
		"or from an empty work directory (with --join, to add it to that cluster)", ErrNotMember, r.cfg.Dir, members, r.cfg.Addr)
}

// Close leaves the cluster's business to the others: it stops raft and
// closes the files. The member stays in the configuration.
func (r *Registry) Close() error {
	var err error
	if r.raft != nil {
		err = r.raft.Shutdown().Error()
	}
	return errors.Join(err, r.closeStores())
}

func (r *Registry) closeStores() error {
	var errs []error
	if r.transport != nil {
		errs = append(errs, r.transport.Close())
	}
	if r.stable != nil {
		r.stable.close()
	}
	if r.logs != nil {
		errs = append(errs, r.logs.Close())
	}
	errs = append(errs, r.fsm.Close())
	return errors.Join(errs...)
}

// Addr is this master's address.
func (r *Registry) Addr() string { return r.cfg.Addr }

// IsLeader reports whether this master believes it leads. It may be
// deposed without knowing yet: call VerifyLeader before a decision that
// must not be stale.
func (r *Registry) IsLeader() bool { return r.raft.State() == raft.Leader }

// Leader returns the leader's address, or "" while none is known.
func (r *Registry) Leader() string {
	addr, _ := r.raft.LeaderWithID()
	return string(addr)
}

// Term is the raft term this master knows: a new leader's is higher than
// any earlier leader's, so agents fence off commands of an older one.
func (r *Registry) Term() uint64 { return r.raft.CurrentTerm() }

// LeaderCh delivers true when this master becomes leader and false when it
// stops. raft drops values nobody reads, so read it from one goroutine.
func (r *Registry) LeaderCh() <-chan bool { return r.raft.LeaderCh() }

// ErrNotLeader is returned by Apply and VerifyLeader on a master that does
// not lead.
var ErrNotLeader = errors.New("registry: not the leader")

// ErrIndeterminate wraps an Apply whose entry may or may not commit:
// leadership was lost while it was in flight. Retrying the same command is
// safe only when it carries a Once ID.
var ErrIndeterminate = errors.New("registry: outcome unknown")

// Apply replicates cmd and waits until it is applied here. It returns nil,
// ErrDuplicate for a command whose Once ID was applied before,
// ErrNotLeader, or ErrIndeterminate.
func (r *Registry) Apply(ctx context.Context, cmd Command) error {
	timeout := 10 * time.Second
	if d, ok := ctx.Deadline(); ok {
		timeout = time.Until(d)
	}
	p, err := r.Start(cmd, timeout)
	if err != nil {
		return err
	}
	return p.Wait()
}

// Pending is a command handed to raft whose outcome is not known yet.
type Pending struct {
	f raft.ApplyFuture
}

// Start hands cmd to raft and returns without waiting for its commit, so
// that a caller with several commands can submit the next ones first:
// raft then stores the entries that queue up with one fsync, and the FSM
// applies them in one bbolt transaction. Commands started one after the
// other are applied in that order. timeout bounds the wait for room in
// raft's queue, not the commit: Wait returns once raft has applied the
// entry or given up on it (ErrIndeterminate when leadership is lost). The
// error is an encoding error; the outcome comes from Pending.Wait.
func (r *Registry) Start(cmd Command, timeout time.Duration) (*Pending, error) {
	b, err := cmd.Encode()
	if err != nil {
		return nil, err
	}
	return &Pending{f: r.raft.Apply(b, timeout)}, nil
}

// Wait blocks until the command is applied here, or failed, and returns
// what Apply would: nil, ErrDuplicate, ErrNotLeader or ErrIndeterminate.
func (p *Pending) Wait() error {
	if err := p.f.Error(); err != nil {
		switch {
		case errors.Is(err, raft.ErrNotLeader):
			return ErrNotLeader
		case errors.Is(err, raft.ErrLeadershipLost), errors.Is(err, raft.ErrEnqueueTimeout), errors.Is(err, raft.ErrRaftShutdown):
			return fmt.Errorf("%w: %w", ErrIndeterminate, err)
		}
		return fmt.Errorf("apply registry command: %w", err)
	}
	if err, ok := p.f.Response().(error); ok && err != nil {
		return err
	}
	return nil
}

// VerifyLeader confirms with a majority that this master still leads.
func (r *Registry) VerifyLeader(ctx context.Context) error {
	if err := r.raft.VerifyLeader().Error(); err != nil {
		return fmt.Errorf("%w: %w", ErrNotLeader, err)
	}
	return nil
}

// Barrier waits until every entry committed before it is applied here, so
// that Load reflects everything earlier leaders decided. A new leader calls
// it before loading the state.
func (r *Registry) Barrier(ctx context.Context) error {
	timeout := 30 * time.Second
	if d, ok := ctx.Deadline(); ok {
		timeout = time.Until(d)
	}
	if err := r.raft.Barrier(timeout).Error(); err != nil {
		return fmt.Errorf("registry barrier: %w", err)
	}
	return nil
}

// Load reads this master's replica of the state.
func (r *Registry) Load() (*State, error) { return r.fsm.Load() }

// Applied is the index of the last log entry this replica applied: a
// standby's views reflect the state as of that entry, and two loads at the
// same index are the same.
func (r *Registry) Applied() uint64 { return r.fsm.applied.Load() }

// HasModule reports whether the replica records module sha's metadata.
func (r *Registry) HasModule(sha string) (bool, error) { return r.fsm.HasModule(sha) }

// ModuleNames lists the modules the replica records, by sha256.
func (r *Registry) ModuleNames() ([]string, error) { return r.fsm.ModuleNames() }

// DeletedModules lists the modules the replica records as deleted and not
// listed again, by sha256.
func (r *Registry) DeletedModules() ([]string, error) { return r.fsm.DeletedModules() }

// ModuleDeleted reports whether the replica records module sha as deleted
// and not listed again.
func (r *Registry) ModuleDeleted(sha string) (bool, error) { return r.fsm.ModuleDeleted(sha) }

// ModulesChanged is signalled when module metadata, or its deletion,
// reaches this replica, so that the master copies or removes the blob at
// once. Read it from one goroutine.
func (r *Registry) ModulesChanged() <-chan struct{} { return r.fsm.ModulesChanged() }

// Servers lists the cluster's masters and their raft suffrage.
func (r *Registry) Servers() ([]raft.Server, error) {
	f := r.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return nil, fmt.Errorf("read cluster configuration: %w", err)
	}
	return f.Configuration().Servers, nil
}

// AddMaster adds a master to the cluster as a voter. Only the leader can.
func (r *Registry) AddMaster(ctx context.Context, addr string) error {
	if err := r.raft.AddVoter(raft.ServerID(addr), raft.ServerAddress(addr), 0, 30*time.Second).Error(); err != nil {
		return fmt.Errorf("add master %s: %w", addr, err)
	}
	return nil
}

// RemoveMaster removes a master from the cluster. Only the leader can.
func (r *Registry) RemoveMaster(ctx context.Context, addr string) error {
	if err := r.raft.RemoveServer(raft.ServerID(addr), 0, 30*time.Second).Error(); err != nil {
		return fmt.Errorf("remove master %s: %w", addr, err)
	}
	return nil
}

// Snapshot takes a snapshot now, so that the log can be compacted.
func (r *Registry) Snapshot() error {
	if err := r.raft.Snapshot().Error(); err != nil {
		return fmt.Errorf("snapshot registry: %w", err)
	}
	return nil
}
