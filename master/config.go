package master

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/api/acl"
	"github.com/mezzo-cluster/mezzo/api/auth"
	"github.com/mezzo-cluster/mezzo/api/tlsconf"
	"github.com/mezzo-cluster/mezzo/master/allocator"
	"github.com/mezzo-cluster/mezzo/master/registry"
)

// Config holds a master's settings. The zero value is not usable; start
// from DefaultConfig and set WorkDir.
type Config struct {
	// WorkDir holds the module store and, later, the registry.
	WorkDir string
	// Hostname is advertised to frameworks and agents in MasterInfo.
	Hostname string
	// AdvertiseIP is the IPv4 address advertised in MasterInfo.
	AdvertiseIP string
	// Port is advertised in MasterInfo; the listener is the caller's.
	Port int
	// HeartbeatInterval is how often subscribers get HEARTBEAT events
	// (Mesos: 15 s).
	HeartbeatInterval time.Duration
	// AgentReregisterTimeout is how long a disconnected agent has to come
	// back before its tasks are declared lost or unreachable (Mesos: 75 s).
	AgentReregisterTimeout time.Duration
	// AllocationBatch is the window in which allocation triggers are
	// gathered into one offer pass: a pass runs this long after resources
	// free up or demand appears (a framework subscribes or revives, weights
	// or quota change).
	AllocationBatch time.Duration
	// AllocationInterval is how often a full pass runs with no event at
	// all, so that expired refusal filters and the offer timeout take
	// effect. In Mesos this periodic pass (--allocation_interval, 1 s) is
	// the main trigger; here every change triggers a pass of its own.
	AllocationInterval time.Duration
	// MaxModuleBytes caps an uploaded module.
	MaxModuleBytes int64
	// MaxCallBytes caps a JSON call body.
	MaxCallBytes int64
	// MaxCompletedTasks bounds the completed tasks kept per framework.
	MaxCompletedTasks int
	// MaxCompletedFrameworks bounds the completed frameworks kept.
	MaxCompletedFrameworks int
	// MinAllocatable lists the smallest sets of resources worth offering
	// (Mesos's --min_allocatable_resources): an agent's free resources are
	// offered to a role only if they hold at least one of these sets in
	// full. DefaultConfig sets Mesos's default, cpus:0.01 | mem:32; nil
	// offers any non-empty set. A framework's own offer_filters override
	// it per role.
	MinAllocatable []api.Resources
	// OfferTimeout, when positive, rescinds offers a framework holds on to
	// for longer (Mesos's --offer_timeout, unset by default), so a buggy
	// framework cannot hoard resources. Their resources come back without
	// a refusal filter.
	OfferTimeout time.Duration
	// Registry, when set, makes the state durable and replicated: the
	// master serves only while its registry member leads, and loads the
	// state when it becomes leader. nil keeps the state in memory, for
	// tests of the APIs of one master.
	Registry *registry.Registry
	// AgentRemovalLimit is the largest fraction of agents that may be
	// marked unreachable within AgentReregisterTimeout; past it the master
	// stops marking them and alerts, as Mesos's --agent_removal_rate_limit
	// guards against a partition of the master rather than of the agents.
	AgentRemovalLimit float64

	// Authenticator, when set, requires credentials (HTTP Basic or a
	// bearer token) on every request but /health and /version (and
	// /metrics with OpenMetrics); nil leaves the master open, which is
	// what mezzo dev and --insecure run with.
	Authenticator *auth.Authenticator
	// ACLs, when set, decide what each principal may do (default deny);
	// nil allows every authenticated request everything.
	ACLs *acl.ACLs
	// Principal and Secret, when Principal is set, are this master's own
	// credential, sent when it calls other masters (a standby copying a
	// module from the leader) with authentication on.
	Principal string
	Secret    string
	// RateLimit, when positive, is how many requests per second one
	// client (principal, or address without authentication) may make of
	// the scheduler, operator, module and files APIs, with bursts of
	// twice that; past it the master answers 429. 0: no limit.
	RateLimit float64
	// MaxInFlight, when positive, is how many requests one client may
	// have in flight at once, event streams included (429 past it).
	MaxInFlight int
	// MaxTasksPerAccept bounds the tasks one ACCEPT may launch; a larger
	// one is refused whole with 400.
	MaxTasksPerAccept int
	// OpenMetrics lets /metrics answer without credentials, for scrapers
	// that cannot send any.
	OpenMetrics bool
	// TLS, when set, says the cluster runs on TLS: this master reaches
	// agents (the files proxy) and other masters (module copies) over
	// https with it — their certificates verified against its RootCAs,
	// its own certificate presented — and advertises agents' URLs as
	// https. nil: plain http. Serving TLS is the listener's business,
	// the caller's.
	TLS *tls.Config
}

// DefaultConfig returns Mesos's defaults where Mesos has one.
func DefaultConfig() Config {
	return Config{
		Hostname:               "localhost",
		AdvertiseIP:            "127.0.0.1",
		Port:                   5050,
		HeartbeatInterval:      15 * time.Second,
		AgentReregisterTimeout: 75 * time.Second,
		AllocationBatch:        5 * time.Millisecond,
		AllocationInterval:     time.Second,
		MaxModuleBytes:         64 << 20,
		MaxCallBytes:           1 << 20,
		MaxCompletedTasks:      1000,
		MaxCompletedFrameworks: 50,
		AgentRemovalLimit:      0.3,
		MaxTasksPerAccept:      10_000,
		MinAllocatable:         allocator.DefaultConfig().MinAllocatable,
	}
}

// allocatorConfig is the configuration of the master's allocator.
func (c Config) allocatorConfig() allocator.Config {
	cfg := allocator.DefaultConfig()
	cfg.MinAllocatable = c.MinAllocatable
	return cfg
}

// Validate reports the first setting that cannot work, naming it.
func (c Config) Validate() error {
	switch {
	case c.WorkDir == "":
		return errors.New("master config: WorkDir is required")
	case c.HeartbeatInterval <= 0:
		return fmt.Errorf("master config: HeartbeatInterval must be positive, got %v", c.HeartbeatInterval)
	case c.AgentReregisterTimeout <= 0:
		return fmt.Errorf("master config: AgentReregisterTimeout must be positive, got %v", c.AgentReregisterTimeout)
	case c.OfferTimeout < 0:
		return fmt.Errorf("master config: OfferTimeout must not be negative, got %v", c.OfferTimeout)
	case c.AllocationBatch < 0:
		return fmt.Errorf("master config: AllocationBatch must not be negative, got %v", c.AllocationBatch)
	case c.AllocationInterval <= 0:
		return fmt.Errorf("master config: AllocationInterval must be positive, got %v", c.AllocationInterval)
	case c.MaxModuleBytes <= 0 || c.MaxCallBytes <= 0:
		return errors.New("master config: MaxModuleBytes and MaxCallBytes must be positive")
	case !(c.AgentRemovalLimit > 0 && c.AgentRemovalLimit <= 1):
		return fmt.Errorf("master config: AgentRemovalLimit must be in (0, 1], got %v", c.AgentRemovalLimit)
	case c.Port <= 0 || c.Port > 65535:
		return fmt.Errorf("master config: Port %d is out of range", c.Port)
	case c.RateLimit < 0 || c.MaxInFlight < 0 || c.MaxTasksPerAccept < 0:
		return fmt.Errorf("master config: RateLimit, MaxInFlight and MaxTasksPerAccept must not be negative, got %v, %d and %d",
			c.RateLimit, c.MaxInFlight, c.MaxTasksPerAccept)
	}
	for i, alt := range c.MinAllocatable {
		if len(alt) == 0 {
			return fmt.Errorf("master config: MinAllocatable[%d] is empty", i)
		}
	}
	if err := c.allocatorConfig().Validate(); err != nil {
		return fmt.Errorf("master config: %w", err)
	}
	return nil
}

// credentialed is the transport for this master's own calls: with its
// credential when it has one.
func (c Config) credentialed() http.RoundTripper {
	var base http.RoundTripper = http.DefaultTransport
	if c.TLS != nil {
		base = tlsconf.Transport(c.TLS)
	}
	if c.Principal == "" {
		return base
	}
	return &auth.Transport{Base: base, Principal: c.Principal, Secret: c.Secret, HTTPSOnly: c.TLS != nil}
}

// scheme is how this master reaches agents and peers: "https" with TLS.
func (c Config) scheme() string {
	if c.TLS != nil {
		return "https"
	}
	return "http"
}
