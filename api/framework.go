package api

import "encoding/json"

// FrameworkCapabilityType names an optional behaviour a framework opts into.
type FrameworkCapabilityType string

// Framework capabilities of mesos.proto.
const (
	CapRevocableResources    FrameworkCapabilityType = "REVOCABLE_RESOURCES"
	CapTaskKillingState      FrameworkCapabilityType = "TASK_KILLING_STATE"
	CapGPUResources          FrameworkCapabilityType = "GPU_RESOURCES"
	CapSharedResources       FrameworkCapabilityType = "SHARED_RESOURCES"
	CapPartitionAware        FrameworkCapabilityType = "PARTITION_AWARE"
	CapMultiRole             FrameworkCapabilityType = "MULTI_ROLE"
	CapReservationRefinement FrameworkCapabilityType = "RESERVATION_REFINEMENT"
	CapRegionAware           FrameworkCapabilityType = "REGION_AWARE"
)

// FrameworkCapability wraps a capability type, {"type": "MULTI_ROLE"}.
type FrameworkCapability struct {
	Type FrameworkCapabilityType `json:"type"`
}

// FrameworkInfo describes a framework to the master. FailoverTimeout and
// Checkpoint have defaults in mesos.proto and are always printed.
//
// User is who the framework's native code (commands, custom executors,
// COMMAND checks) runs as on agents when a CommandInfo names no user. It
// may be empty, unlike in Mesos: each agent then uses its default task
// user (its --task-user, nobody for an agent running as root), so that a
// client started as root does not ask for root without meaning to. Root
// itself needs an explicit grant in the master's run_tasks ACL
// (RATIONALE.md, "Why may FrameworkInfo.user be empty?").
type FrameworkInfo struct {
	User            string                  `json:"user"`
	Name            string                  `json:"name"`
	ID              *FrameworkID            `json:"id,omitempty"`
	FailoverTimeout Float64                 `json:"failover_timeout"`
	Checkpoint      bool                    `json:"checkpoint"`
	Role            string                  `json:"role,omitempty"`
	Roles           []string                `json:"roles,omitempty"`
	Hostname        string                  `json:"hostname,omitempty"`
	Principal       string                  `json:"principal,omitempty"`
	WebuiURL        string                  `json:"webui_url,omitempty"`
	Capabilities    []FrameworkCapability   `json:"capabilities,omitempty"`
	Labels          *Labels                 `json:"labels,omitempty"`
	OfferFilters    map[string]OfferFilters `json:"offer_filters,omitempty"`
}

// HasCapability reports whether the framework opted into c.
func (f *FrameworkInfo) HasCapability(c FrameworkCapabilityType) bool {
	for _, x := range f.Capabilities {
		if x.Type == c {
			return true
		}
	}
	return false
}

// AllRoles returns the roles the framework subscribes to: Roles for a
// MULTI_ROLE framework, else the deprecated Role, defaulting to "*".
func (f *FrameworkInfo) AllRoles() []string {
	if f.HasCapability(CapMultiRole) {
		return f.Roles
	}
	if f.Role != "" {
		return []string{f.Role}
	}
	return []string{"*"}
}

// OfferFilters are a framework's per-role minimum offer sizes.
type OfferFilters struct {
	MinAllocatableResources *MinAllocatableResources `json:"min_allocatable_resources,omitempty"`
}

// MinAllocatableResources lists alternatives: an offer must hold at least
// one of the quantity sets.
type MinAllocatableResources struct {
	Quantities []ResourceQuantities `json:"quantities,omitempty"`
}

// ResourceQuantities maps resource names to scalar quantities.
type ResourceQuantities struct {
	Quantities map[string]Scalar `json:"quantities,omitempty"`
}

// Address is a network address; offers always carry one in their URL.
type Address struct {
	Hostname string `json:"hostname,omitempty"`
	IP       string `json:"ip,omitempty"`
	Port     Int64  `json:"port"`
}

// URL locates an agent's HTTP endpoint.
type URL struct {
	Scheme   string      `json:"scheme"`
	Address  Address     `json:"address"`
	Path     string      `json:"path,omitempty"`
	Query    []Parameter `json:"query,omitempty"`
	Fragment string      `json:"fragment,omitempty"`
}

// DomainInfo places a master or agent in a fault domain.
type DomainInfo struct {
	FaultDomain *FaultDomain `json:"fault_domain,omitempty"`
}

// FaultDomain is a region and zone.
type FaultDomain struct {
	Region FaultDomainName `json:"region"`
	Zone   FaultDomainName `json:"zone"`
}

// FaultDomainName names a region or zone.
type FaultDomainName struct {
	Name string `json:"name"`
}

// MasterCapability names something this master can do.
type MasterCapability struct {
	Type string `json:"type"`
}

// MasterInfo describes the leading master to frameworks and agents. IP is
// the IPv4 address as a uint32 in network byte order (MESOS-1201).
type MasterInfo struct {
	ID           string             `json:"id"`
	IP           Uint64             `json:"ip"`
	Port         Uint64             `json:"port"`
	PID          string             `json:"pid,omitempty"`
	Hostname     string             `json:"hostname,omitempty"`
	Version      string             `json:"version,omitempty"`
	Address      *Address           `json:"address,omitempty"`
	Domain       *DomainInfo        `json:"domain,omitempty"`
	Capabilities []MasterCapability `json:"capabilities,omitempty"`
}

// MarshalJSON prints the default port 5050 when unset, as Mesos does.
func (m MasterInfo) MarshalJSON() ([]byte, error) {
	type plain MasterInfo
	p := plain(m)
	if p.Port == 0 {
		p.Port = 5050
	}
	return json.Marshal(p)
}

// AgentCapability names something an agent can do.
type AgentCapability struct {
	Type string `json:"type"`
}

// AgentInfo describes an agent: where it is, what it offers, and its
// attributes. Port defaults to 5051 and is always printed.
type AgentInfo struct {
	Hostname     string            `json:"hostname"`
	Port         Int64             `json:"port"`
	Resources    []Resource        `json:"resources,omitempty"`
	Attributes   []Attribute       `json:"attributes,omitempty"`
	ID           *AgentID          `json:"id,omitempty"`
	Domain       *DomainInfo       `json:"domain,omitempty"`
	Capabilities []AgentCapability `json:"capabilities,omitempty"`
}

// MarshalJSON prints the default port 5051 when unset.
func (a AgentInfo) MarshalJSON() ([]byte, error) {
	type plain AgentInfo
	p := plain(a)
	if p.Port == 0 {
		p.Port = 5051
	}
	return json.Marshal(p)
}
