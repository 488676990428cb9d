package master

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/master/allocator"
	"github.com/mezzo-cluster/mezzo/master/modules"
	"github.com/mezzo-cluster/mezzo/master/registry"
)

// Version is the Mesos API version Mezzo speaks, reported by /version so
// that Mesos clients pick the right capabilities.
const Version = "1.11.0"

// Master is a running master: the scheduler, agent and operator APIs over
// one in-memory cluster state guarded by mu.
//
// Lock order: replicaFeed.mu, then replicaViews.mu, then Master.mu, then
// the registry's own locks (its FSM's and change tracker's) — no method
// holding mu blocks on I/O; events go out through non-blocking stream
// queues. fileMu is never held with mu.
type Master struct {
	cfg     Config
	id      string
	info    api.MasterInfo
	started time.Time
	modules *modules.Store
	blobs   blobFetches  // why modules could not be fetched (replica.go)
	views   replicaViews // a standby's state for its views (standby.go)
	feed    replicaFeed  // a standby's events of what its replica applies (replicafeed.go)
	log     *slog.Logger
	// fileMu orders the decisions to remove a module's file against
	// those to store one (moduledelete.go): each reads the registry and
	// changes the store under it.
	fileMu sync.Mutex

	allocate chan struct{} // capacity 1: a pending allocation pass
	http     *http.Client  // for proxying agents' files API

	mu         sync.Mutex
	frameworks map[string]*framework // by framework ID, connected or not
	completed  []*framework          // removed frameworks, oldest first
	agents     map[string]*agent     // by agent ID
	offers     map[string]*offer     // by offer ID
	nextFW     int
	nextAgent  int
	nextOffer  int
	watchers   []*stream // operator event streams
	alloc      *allocator.Allocator
	fullPass   bool            // the next pass visits every agent
	dirty      map[string]bool // agents whose free resources grew since the last pass
	weights    map[string]float64
	quotas     map[string]api.QuotaConfig
	gone       map[string]time.Time // agents marked gone, which may not come back
	recovering int                  // agents with recovered set (agent.go)
	maint      maintenance          // the maintenance schedule (maintenance.go)
	metrics    *metrics
	limits     *clientLimits // nil without Config.RateLimit or MaxInFlight

	// The registry, when there is one (see leader.go): writes queued under
	// mu, applied in order by writeLoop.
	reg     *registry.Registry
	writes  []write
	wake    chan struct{} // capacity 1: writes are queued
	epoch   uint64        // bumped at every change of leadership; guarded by mu
	leading atomic.Bool   // serving as leader, with the state loaded
	// stopped is set by shutdown, with mu held, once Run is returning.
	// Every stream is registered with mu held after checking it, so a
	// stream is either closed by shutdown or never opened: nothing is left
	// for a server's Close or Shutdown to wait on.
	stopped atomic.Bool
	// confirmed is when leadership was last confirmed (UnixNano).
	confirmed atomic.Int64
	term      uint64 // the raft term this master leads in; guarded by mu
	// removals are when agents were last marked unreachable, for the
	// removal limit; guarded by mu.
	removals []time.Time
}

// New returns a master for cfg. It opens the module store under
// cfg.WorkDir; Run starts the background loops.
func New(cfg Config) (*Master, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	store, err := modules.Open(filepath.Join(cfg.WorkDir, "modules"), modules.CompileCheck)
	if err != nil {
		return nil, err
	}
	id := uuid.NewString()
	m := &Master{
		cfg:        cfg,
		id:         id,
		started:    time.Now(),
		modules:    store,
		log:        slog.Default().With("component", "master"),
		allocate:   make(chan struct{}, 1),
		http:       &http.Client{Timeout: 30 * time.Second, Transport: cfg.credentialed()},
		frameworks: map[string]*framework{},
		agents:     map[string]*agent{},
		offers:     map[string]*offer{},
		alloc:      allocator.New(cfg.allocatorConfig()),
		dirty:      map[string]bool{},
		weights:    map[string]float64{},
		quotas:     map[string]api.QuotaConfig{},
		gone:       map[string]time.Time{},
		reg:        cfg.Registry,
		wake:       make(chan struct{}, 1),
	}
	if m.reg == nil {
		m.leading.Store(true)
	}
	m.metrics = newMetrics(m)
	if cfg.RateLimit > 0 || cfg.MaxInFlight > 0 {
		m.limits = newClientLimits(cfg.RateLimit, cfg.MaxInFlight)
	}
	m.info = api.MasterInfo{
		ID:       id,
		IP:       api.Uint64(ipNetworkOrder(cfg.AdvertiseIP)),
		Port:     api.Uint64(cfg.Port),
		PID:      fmt.Sprintf("master@%s:%d", cfg.AdvertiseIP, cfg.Port),
		Hostname: cfg.Hostname,
		Version:  Version,
		Address:  &api.Address{Hostname: cfg.Hostname, IP: cfg.AdvertiseIP, Port: api.Int64(cfg.Port)},
		Capabilities: []api.MasterCapability{
			{Type: "AGENT_UPDATE"}, {Type: "AGENT_DRAINING"}, {Type: "QUOTA_V2"},
		},
	}
	return m, nil
}

// ID returns the master's unique ID, the prefix of every ID it assigns.
func (m *Master) ID() string { return m.id }

// Run drives offers and heartbeats until ctx ends. Call it once. When it
// returns, every event stream has been closed, and the scheduler, agent
// and operator APIs answer 503 (errStopped) rather than open a stream
// nothing would close.
func (m *Master) Run(ctx context.Context) error {
	heartbeat := time.NewTicker(m.cfg.HeartbeatInterval)
	defer heartbeat.Stop()
	// Filters expire without any event; a slow tick offers their resources
	// again. Everything else triggers a pass directly.
	tick := time.NewTicker(m.cfg.AllocationInterval)
	defer tick.Stop()
	if m.reg != nil {
		go m.writeLoop(ctx)
		go m.watchLeadership(ctx)
		go m.syncModules(ctx)
		go m.followReplica(ctx)
	}
	for {
		select {
		case <-ctx.Done():
			m.shutdown()
			return nil
		case <-heartbeat.C:
			m.heartbeat()
		case <-tick.C:
			if m.Leading() && m.confirmLeader(ctx) {
				m.allocatePass(time.Now(), true)
			}
		case <-m.allocate:
			if m.cfg.AllocationBatch > 0 {
				time.Sleep(m.cfg.AllocationBatch)
			}
			if m.Leading() && m.confirmLeader(ctx) {
				m.allocatePass(time.Now(), false)
			}
		}
	}
}

// triggerAllocation asks for an offer pass soon. It never blocks.
func (m *Master) triggerAllocation() {
	select {
	case m.allocate <- struct{}{}:
	default:
	}
}

// The heartbeats sent to every framework and agent, encoded once. Neither
// can fail to encode: they are constants of types json knows.
var (
	frameworkHeartbeat, _ = json.Marshal(api.Event{Type: api.EventHeartbeat})
	agentHeartbeat, _     = json.Marshal(api.AgentEvent{Type: api.AgentEventHeartbeat})
)

func (m *Master) heartbeat() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, f := range m.frameworks {
		f.stream.sendEncoded(frameworkHeartbeat)
	}
	for _, a := range m.agents {
		a.stream.sendEncoded(agentHeartbeat)
	}
	m.publish(api.OperatorEvent{Type: api.OperatorEventHeartbeat})
}

// shutdown closes every stream so that clients notice at once, and makes
// the master refuse new ones (errStopped): a client that subscribes again
// the moment its stream ends must be told to go to another master, not
// given a stream that nothing would close.
func (m *Master) shutdown() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.stopped.Store(true)
	for _, f := range m.frameworks {
		f.stream.close()
	}
	for _, a := range m.agents {
		a.stream.close()
	}
	for _, s := range m.watchers {
		s.close()
	}
}

func (m *Master) newStreamID() string { return uuid.NewString() }

// errStopped returns the answer of a master whose Run has returned to a
// call that needs it running: 503, as for a master without a leader, so
// that schedulers, agents and operators retry another master.
func errStopped() *echo.HTTPError {
	return echo.NewHTTPError(http.StatusServiceUnavailable, "Master is shutting down")
}

// running refuses the calls of a route with errStopped once Run has
// returned. Calls that open a stream check again with mu held, where they
// register it (see stopped): this check alone could pass just before
// shutdown.
func (m *Master) running(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if m.stopped.Load() {
			return errStopped()
		}
		return next(c)
	}
}

// ipNetworkOrder packs an IPv4 address as Mesos's MasterInfo.ip: a uint32
// whose bytes in memory are the address in network order, read as a
// little-endian integer (MESOS-1201), so 127.0.0.1 is 16777343.
func ipNetworkOrder(s string) uint32 {
	ip := net.ParseIP(s).To4()
	if ip == nil {
		return 0
	}
	return uint32(ip[0]) | uint32(ip[1])<<8 | uint32(ip[2])<<16 | uint32(ip[3])<<24
}
