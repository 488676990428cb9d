package api

// Offer is a set of one agent's resources offered to one framework for one
// role. All resources in an offer share the allocation role.
type Offer struct {
	ID             OfferID         `json:"id"`
	FrameworkID    FrameworkID     `json:"framework_id"`
	AgentID        AgentID         `json:"agent_id"`
	Hostname       string          `json:"hostname"`
	URL            *URL            `json:"url,omitempty"`
	Domain         *DomainInfo     `json:"domain,omitempty"`
	Resources      []Resource      `json:"resources,omitempty"`
	Attributes     []Attribute     `json:"attributes,omitempty"`
	ExecutorIDs    []ExecutorID    `json:"executor_ids,omitempty"`
	Unavailability *Unavailability `json:"unavailability,omitempty"`
	AllocationInfo *AllocationInfo `json:"allocation_info,omitempty"`
}

// Unavailability is a maintenance window.
type Unavailability struct {
	Start    TimeInfo      `json:"start"`
	Duration *DurationInfo `json:"duration,omitempty"`
}

// InverseOffer asks a framework to give back an agent's resources for
// maintenance.
type InverseOffer struct {
	ID             OfferID        `json:"id"`
	URL            *URL           `json:"url,omitempty"`
	FrameworkID    FrameworkID    `json:"framework_id"`
	AgentID        *AgentID       `json:"agent_id,omitempty"`
	Unavailability Unavailability `json:"unavailability"`
	Resources      []Resource     `json:"resources,omitempty"`
}

// OperationType names an offer operation.
type OperationType string

// Offer operation types.
const (
	OpLaunch       OperationType = "LAUNCH"
	OpLaunchGroup  OperationType = "LAUNCH_GROUP"
	OpReserve      OperationType = "RESERVE"
	OpUnreserve    OperationType = "UNRESERVE"
	OpCreate       OperationType = "CREATE"
	OpDestroy      OperationType = "DESTROY"
	OpGrowVolume   OperationType = "GROW_VOLUME"
	OpShrinkVolume OperationType = "SHRINK_VOLUME"
	OpCreateDisk   OperationType = "CREATE_DISK"
	OpDestroyDisk  OperationType = "DESTROY_DISK"
)

// Operation is what a framework does with accepted offers (Offer.Operation
// in mesos.proto). Exactly the payload matching Type is set.
type Operation struct {
	Type         OperationType       `json:"type"`
	ID           *OperationID        `json:"id,omitempty"`
	Launch       *LaunchOperation    `json:"launch,omitempty"`
	LaunchGroup  *LaunchGroup        `json:"launch_group,omitempty"`
	Reserve      *ReserveOperation   `json:"reserve,omitempty"`
	Unreserve    *UnreserveOperation `json:"unreserve,omitempty"`
	Create       *VolumesOperation   `json:"create,omitempty"`
	Destroy      *VolumesOperation   `json:"destroy,omitempty"`
	GrowVolume   *GrowVolume         `json:"grow_volume,omitempty"`
	ShrinkVolume *ShrinkVolume       `json:"shrink_volume,omitempty"`
	CreateDisk   *CreateDisk         `json:"create_disk,omitempty"`
	DestroyDisk  *DestroyDisk        `json:"destroy_disk,omitempty"`
}

// Tasks returns the tasks a LAUNCH or LAUNCH_GROUP operation launches,
// nil for any other: the master validates, authorizes, counts and
// answers them alike, whichever operation carries them.
func (op Operation) Tasks() []TaskInfo {
	switch {
	case op.Launch != nil:
		return op.Launch.TaskInfos
	case op.LaunchGroup != nil:
		return op.LaunchGroup.TaskGroup.Tasks
	}
	return nil
}

// LaunchOperation launches tasks, each with its own executor or command.
type LaunchOperation struct {
	TaskInfos []TaskInfo `json:"task_infos,omitempty"`
}

// LaunchGroup launches a group of tasks atomically under one executor.
type LaunchGroup struct {
	Executor  ExecutorInfo  `json:"executor"`
	TaskGroup TaskGroupInfo `json:"task_group"`
}

// TaskGroupInfo is a list of tasks launched together.
type TaskGroupInfo struct {
	Tasks []TaskInfo `json:"tasks,omitempty"`
}

// ReserveOperation reserves resources for a role.
type ReserveOperation struct {
	Source    []Resource `json:"source,omitempty"`
	Resources []Resource `json:"resources,omitempty"`
}

// UnreserveOperation returns reserved resources to the unreserved pool.
type UnreserveOperation struct {
	Resources []Resource `json:"resources,omitempty"`
}

// VolumesOperation creates or destroys persistent volumes.
type VolumesOperation struct {
	Volumes []Resource `json:"volumes,omitempty"`
}

// GrowVolume adds disk to a persistent volume.
type GrowVolume struct {
	Volume   Resource `json:"volume"`
	Addition Resource `json:"addition"`
}

// ShrinkVolume removes disk from a persistent volume.
type ShrinkVolume struct {
	Volume   Resource `json:"volume"`
	Subtract Scalar   `json:"subtract"`
}

// CreateDisk converts a RAW disk into a MOUNT or BLOCK disk.
type CreateDisk struct {
	Source        Resource `json:"source"`
	TargetType    string   `json:"target_type,omitempty"`
	TargetProfile string   `json:"target_profile,omitempty"`
}

// DestroyDisk converts a disk back into a RAW disk.
type DestroyDisk struct {
	Source Resource `json:"source"`
}

// OfferConstraints restrict which agents a framework is offered, per role,
// by attributes.
type OfferConstraints struct {
	RoleConstraints map[string]RoleConstraints `json:"role_constraints,omitempty"`
}

// RoleConstraints are alternatives: an agent qualifies if any group holds.
type RoleConstraints struct {
	Groups []ConstraintGroup `json:"groups,omitempty"`
}

// ConstraintGroup holds when all its constraints hold.
type ConstraintGroup struct {
	AttributeConstraints []AttributeConstraint `json:"attribute_constraints,omitempty"`
}

// AttributeConstraint tests one attribute (or pseudo-attribute) of an agent.
type AttributeConstraint struct {
	Selector  AttributeSelector  `json:"selector"`
	Predicate AttributePredicate `json:"predicate"`
}

// AttributeSelector names the attribute tested.
type AttributeSelector struct {
	AttributeName       string `json:"attribute_name,omitempty"`
	PseudoattributeType string `json:"pseudoattribute_type,omitempty"`
}

// AttributePredicate is the test applied; exactly one field is set.
type AttributePredicate struct {
	Exists         *struct{}  `json:"exists,omitempty"`
	NotExists      *struct{}  `json:"not_exists,omitempty"`
	TextEquals     *TextValue `json:"text_equals,omitempty"`
	TextNotEquals  *TextValue `json:"text_not_equals,omitempty"`
	TextMatches    *Regex     `json:"text_matches,omitempty"`
	TextNotMatches *Regex     `json:"text_not_matches,omitempty"`
}

// TextValue is the operand of a text equality predicate.
type TextValue struct {
	Value string `json:"value"`
}

// Regex is the operand of a text matching predicate.
type Regex struct {
	Regex string `json:"regex"`
}
