package api

import "encoding/json"

// ReservationType tells a static reservation (agent flag) from a dynamic one
// (RESERVE operation).
type ReservationType string

// Reservation types.
const (
	ReservationStatic  ReservationType = "STATIC"
	ReservationDynamic ReservationType = "DYNAMIC"
)

// ReservationInfo is one level of a resource's reservation stack
// (post-refinement form, Resource.Reservations).
type ReservationInfo struct {
	Type      ReservationType `json:"type,omitempty"`
	Role      string          `json:"role,omitempty"`
	Principal string          `json:"principal,omitempty"`
	Labels    *Labels         `json:"labels,omitempty"`
}

// AllocationInfo names the role a resource is offered to or allocated for.
type AllocationInfo struct {
	Role string `json:"role,omitempty"`
}

// DiskInfo describes persistent volumes and disk sources.
type DiskInfo struct {
	Persistence *DiskPersistence `json:"persistence,omitempty"`
	Volume      *Volume          `json:"volume,omitempty"`
	Source      *DiskSource      `json:"source,omitempty"`
}

// DiskPersistence names a persistent volume.
type DiskPersistence struct {
	ID        string `json:"id"`
	Principal string `json:"principal,omitempty"`
}

// DiskSource says where a disk resource comes from.
type DiskSource struct {
	Type     string    `json:"type"`
	Path     *DiskPath `json:"path,omitempty"`
	Mount    *DiskPath `json:"mount,omitempty"`
	Vendor   string    `json:"vendor,omitempty"`
	ID       string    `json:"id,omitempty"`
	Metadata *Labels   `json:"metadata,omitempty"`
	Profile  string    `json:"profile,omitempty"`
}

// DiskPath is the root of a PATH or MOUNT disk source.
type DiskPath struct {
	Root string `json:"root,omitempty"`
}

// RevocableInfo marks a resource the agent may take back.
type RevocableInfo struct{}

// SharedInfo marks a resource several tasks may use at once.
type SharedInfo struct{}

// Resource is one named quantity of an agent, offer or task: a scalar such
// as cpus or mem, ranges such as ports, or a set. Role and Reservation are the
// pre-refinement form sent to frameworks without RESERVATION_REFINEMENT;
// Reservations is the post-refinement stack. Mesos's default role "*" is
// never printed unless set.
type Resource struct {
	ProviderID     *ResourceProviderID `json:"provider_id,omitempty"`
	Name           string              `json:"name"`
	Type           ValueType           `json:"type"`
	Scalar         *Scalar             `json:"scalar,omitempty"`
	Ranges         *Ranges             `json:"ranges,omitempty"`
	Set            *Set                `json:"set,omitempty"`
	Role           string              `json:"role,omitempty"`
	AllocationInfo *AllocationInfo     `json:"allocation_info,omitempty"`
	Reservation    *ReservationInfo    `json:"reservation,omitempty"`
	Reservations   []ReservationInfo   `json:"reservations,omitempty"`
	Disk           *DiskInfo           `json:"disk,omitempty"`
	Revocable      *RevocableInfo      `json:"revocable,omitempty"`
	Shared         *SharedInfo         `json:"shared,omitempty"`
}

// Filters tells the master how long to refuse resources a framework
// declined. An unset RefuseSeconds means Mesos's default of five seconds and
// is printed as 5.0; zero means no filter.
type Filters struct {
	RefuseSeconds *Float64 `json:"refuse_seconds,omitempty"`
}

// DefaultRefuseSeconds is Mesos's default refusal filter.
const DefaultRefuseSeconds = 5.0

// Refuse returns the refusal duration in seconds, applying the default.
func (f *Filters) Refuse() float64 {
	if f == nil || f.RefuseSeconds == nil {
		return DefaultRefuseSeconds
	}
	return float64(*f.RefuseSeconds)
}

// MarshalJSON prints refuse_seconds even when unset, as Mesos does.
func (f Filters) MarshalJSON() ([]byte, error) {
	type plain Filters
	p := plain(f)
	if p.RefuseSeconds == nil {
		p.RefuseSeconds = Ptr(Float64(DefaultRefuseSeconds))
	}
	return json.Marshal(p)
}
