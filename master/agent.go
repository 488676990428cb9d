package master

import (
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

// agent is the master's record of one agent. Fields are guarded by
// Master.mu.
type agent struct {
	id           string
	info         api.AgentInfo
	ip           string // the address the agent's connection came from
	total        api.Resources
	used         api.Resources // resources of live tasks
	offered      api.Resources // resources in outstanding offers
	stream       *stream       // nil while disconnected
	registered   time.Time
	reregistered time.Time
	unreachable  bool // missed its re-registration window
	// recovered marks an agent a new leader took from the registry and
	// that has not re-registered with it yet: reconciliation cannot tell
	// what it runs, so it leaves its unknown tasks unanswered.
	recovered   bool
	deactivated bool           // no offers: DEACTIVATE_AGENT or DRAIN_AGENT
	drain       *api.DrainInfo // set while draining or drained
	lost        *time.Timer    // runs while disconnected
	since       time.Time      // when it became unreachable
	tasks       map[taskKey]*task
	// executors are the executors frameworks named that the master counts
	// on the agent (executor.go); nil until the first.
	executors map[execID]*runningExecutor
	// recorded is the digest of the record last queued for the registry
	// (or loaded from it), so that a save that changes nothing — every
	// agent re-registering after a failover — writes nothing.
	recorded uint64
}

// taskKey names a task across frameworks.
type taskKey struct{ framework, task string }

func (a *agent) connected() bool { return a.stream != nil && !a.stream.closed() }

// free returns what the agent has neither running nor on offer.
func (a *agent) free() api.Resources { return a.total.Minus(a.used).Minus(a.offered) }

// url is where frameworks (and the master's files proxy) reach the agent,
// over scheme ("http" or "https").
func (a *agent) url(scheme string) *api.URL {
	return &api.URL{
		Scheme:  scheme,
		Address: api.Address{Hostname: a.info.Hostname, IP: a.ip, Port: a.info.Port},
		Path:    "/slave(1)",
	}
}

// endpoint is the agent's base URL over scheme ("http" or "https").
func (a *agent) endpoint(scheme string) string {
	port := a.info.Port
	if port == 0 {
		port = 5051
	}
	return fmt.Sprintf("%s://%s", scheme, net.JoinHostPort(a.info.Hostname, strconv.Itoa(int(port))))
}

// stateName is the agent's state for metrics.
func (a *agent) stateName() string {
	switch {
	case a.unreachable:
		return "unreachable"
	case a.deactivated:
		return "deactivated"
	case a.connected():
		return "active"
	}
	return "disconnected"
}

// offerable reports whether the agent's resources may be offered.
func (a *agent) offerable() bool { return a.connected() && !a.unreachable && !a.deactivated }
