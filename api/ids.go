package api

// The identifiers of Mesos's wire format are objects, {"value": "..."}, so
// that a protobuf message can grow; they are kept as distinct types here so
// that an agent ID cannot be passed where a task ID is meant.

// FrameworkID names a framework; the master assigns it at first SUBSCRIBE.
type FrameworkID struct {
	Value string `json:"value"`
}

// OfferID names one offer; it is valid for one ACCEPT or DECLINE.
type OfferID struct {
	Value string `json:"value"`
}

// AgentID names an agent; the master assigns it when the agent first subscribes.
type AgentID struct {
	Value string `json:"value"`
}

// TaskID names a task within its framework; the framework chooses it.
type TaskID struct {
	Value string `json:"value"`
}

// ExecutorID names an executor within its framework. Tasks launched with a
// CommandInfo or a Wasm container get an executor whose ID is the task's.
type ExecutorID struct {
	Value string `json:"value"`
}

// OperationID names an offer operation whose status the framework wants.
type OperationID struct {
	Value string `json:"value"`
}

// ResourceProviderID names a resource provider on an agent.
type ResourceProviderID struct {
	Value string `json:"value"`
}

// ContainerID names one run of an executor on an agent; nested containers
// point at their parent.
type ContainerID struct {
	Value  string       `json:"value"`
	Parent *ContainerID `json:"parent,omitempty"`
}

// UUID is the Mesos wire UUID message, {"value": "<base64 bytes>"}, used by
// operation statuses. Task status updates carry their UUID as plain bytes.
type UUID struct {
	Value []byte `json:"value"`
}

// TimeInfo is a point in time, in nanoseconds since the Unix epoch.
type TimeInfo struct {
	Nanoseconds Int64 `json:"nanoseconds"`
}

// DurationInfo is a span of time in nanoseconds.
type DurationInfo struct {
	Nanoseconds Int64 `json:"nanoseconds"`
}

// Seconds returns the duration in seconds.
func (d DurationInfo) Seconds() float64 { return float64(d.Nanoseconds) / 1e9 }
