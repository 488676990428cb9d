package api

// CallType names a v1 scheduler call.
type CallType string

// Scheduler call types (scheduler.proto, message Call).
const (
	CallUnknown                    CallType = "UNKNOWN"
	CallSubscribe                  CallType = "SUBSCRIBE"
	CallTeardown                   CallType = "TEARDOWN"
	CallAccept                     CallType = "ACCEPT"
	CallDecline                    CallType = "DECLINE"
	CallAcceptInverseOffers        CallType = "ACCEPT_INVERSE_OFFERS"
	CallDeclineInverseOffers       CallType = "DECLINE_INVERSE_OFFERS"
	CallRevive                     CallType = "REVIVE"
	CallKill                       CallType = "KILL"
	CallShutdown                   CallType = "SHUTDOWN"
	CallAcknowledge                CallType = "ACKNOWLEDGE"
	CallAcknowledgeOperationStatus CallType = "ACKNOWLEDGE_OPERATION_STATUS"
	CallReconcile                  CallType = "RECONCILE"
	CallReconcileOperations        CallType = "RECONCILE_OPERATIONS"
	CallMessage                    CallType = "MESSAGE"
	CallRequest                    CallType = "REQUEST"
	CallSuppress                   CallType = "SUPPRESS"
	CallUpdateFramework            CallType = "UPDATE_FRAMEWORK"
)

// Call is a v1 scheduler call, POSTed to /api/v1/scheduler. Exactly the
// payload that matches Type is set; the master's validation enforces it.
type Call struct {
	FrameworkID                *FrameworkID                `json:"framework_id,omitempty"`
	Type                       CallType                    `json:"type"`
	Subscribe                  *Subscribe                  `json:"subscribe,omitempty"`
	Accept                     *Accept                     `json:"accept,omitempty"`
	Decline                    *Decline                    `json:"decline,omitempty"`
	AcceptInverseOffers        *AcceptInverseOffers        `json:"accept_inverse_offers,omitempty"`
	DeclineInverseOffers       *DeclineInverseOffers       `json:"decline_inverse_offers,omitempty"`
	Revive                     *Revive                     `json:"revive,omitempty"`
	Kill                       *Kill                       `json:"kill,omitempty"`
	Shutdown                   *Shutdown                   `json:"shutdown,omitempty"`
	Acknowledge                *Acknowledge                `json:"acknowledge,omitempty"`
	AcknowledgeOperationStatus *AcknowledgeOperationStatus `json:"acknowledge_operation_status,omitempty"`
	Reconcile                  *Reconcile                  `json:"reconcile,omitempty"`
	ReconcileOperations        *ReconcileOperations        `json:"reconcile_operations,omitempty"`
	Message                    *FrameworkMessage           `json:"message,omitempty"`
	Request                    *Request                    `json:"request,omitempty"`
	Suppress                   *Suppress                   `json:"suppress,omitempty"`
	UpdateFramework            *UpdateFramework            `json:"update_framework,omitempty"`
}

// Subscribe opens a framework's event stream. Suppressed roles must be a
// subset of the framework's roles.
type Subscribe struct {
	FrameworkInfo    FrameworkInfo     `json:"framework_info"`
	SuppressedRoles  []string          `json:"suppressed_roles,omitempty"`
	OfferConstraints *OfferConstraints `json:"offer_constraints,omitempty"`
}

// Accept uses offers for operations; what the operations leave unused is
// declined with Filters.
type Accept struct {
	OfferIDs   []OfferID   `json:"offer_ids,omitempty"`
	Operations []Operation `json:"operations,omitempty"`
	Filters    *Filters    `json:"filters,omitempty"`
}

// Decline gives offers back, refusing them for Filters' duration.
type Decline struct {
	OfferIDs []OfferID `json:"offer_ids,omitempty"`
	Filters  *Filters  `json:"filters,omitempty"`
}

// AcceptInverseOffers agrees to maintenance on the named inverse offers.
type AcceptInverseOffers struct {
	InverseOfferIDs []OfferID `json:"inverse_offer_ids,omitempty"`
	Filters         *Filters  `json:"filters,omitempty"`
}

// DeclineInverseOffers refuses maintenance on the named inverse offers.
type DeclineInverseOffers struct {
	InverseOfferIDs []OfferID `json:"inverse_offer_ids,omitempty"`
	Filters         *Filters  `json:"filters,omitempty"`
}

// Revive clears filters and un-suppresses the roles (all when empty).
type Revive struct {
	Roles []string `json:"roles,omitempty"`
}

// Suppress stops offers for the roles (all when empty).
type Suppress struct {
	Roles []string `json:"roles,omitempty"`
}

// Kill asks for a task to be killed.
type Kill struct {
	TaskID     TaskID      `json:"task_id"`
	AgentID    *AgentID    `json:"agent_id,omitempty"`
	KillPolicy *KillPolicy `json:"kill_policy,omitempty"`
}

// Shutdown asks for a custom executor to be shut down.
type Shutdown struct {
	ExecutorID ExecutorID `json:"executor_id"`
	AgentID    AgentID    `json:"agent_id"`
}

// Acknowledge confirms receipt of a status update that carried a UUID.
type Acknowledge struct {
	AgentID AgentID `json:"agent_id"`
	TaskID  TaskID  `json:"task_id"`
	UUID    []byte  `json:"uuid"`
}

// AcknowledgeOperationStatus confirms an operation status update.
type AcknowledgeOperationStatus struct {
	AgentID            *AgentID            `json:"agent_id,omitempty"`
	ResourceProviderID *ResourceProviderID `json:"resource_provider_id,omitempty"`
	UUID               []byte              `json:"uuid"`
	OperationID        OperationID         `json:"operation_id"`
}

// Reconcile asks for the latest state of tasks; an empty list means all of
// the framework's tasks (implicit reconciliation).
type Reconcile struct {
	Tasks []ReconcileTask `json:"tasks,omitempty"`
}

// ReconcileTask names one task to reconcile.
type ReconcileTask struct {
	TaskID  TaskID   `json:"task_id"`
	AgentID *AgentID `json:"agent_id,omitempty"`
}

// ReconcileOperations asks for the latest state of operations.
type ReconcileOperations struct {
	Operations []ReconcileOperation `json:"operations,omitempty"`
}

// ReconcileOperation names one operation to reconcile.
type ReconcileOperation struct {
	OperationID        OperationID         `json:"operation_id"`
	AgentID            *AgentID            `json:"agent_id,omitempty"`
	ResourceProviderID *ResourceProviderID `json:"resource_provider_id,omitempty"`
}

// FrameworkMessage carries opaque data between a framework and an executor
// (Call.Message and Event.Message).
type FrameworkMessage struct {
	AgentID    AgentID    `json:"agent_id"`
	ExecutorID ExecutorID `json:"executor_id"`
	Data       []byte     `json:"data"`
}

// Request asks for resources; Mesos's allocator ignores it, and so does Mezzo.
type Request struct {
	Requests []ResourceRequest `json:"requests,omitempty"`
}

// ResourceRequest is one resource request (mesos.v1.Request).
type ResourceRequest struct {
	AgentID   *AgentID   `json:"agent_id,omitempty"`
	Resources []Resource `json:"resources,omitempty"`
}

// UpdateFramework changes a subscribed framework's info, atomically.
type UpdateFramework struct {
	FrameworkInfo    FrameworkInfo     `json:"framework_info"`
	SuppressedRoles  []string          `json:"suppressed_roles,omitempty"`
	OfferConstraints *OfferConstraints `json:"offer_constraints,omitempty"`
}

// EventType names a v1 scheduler event.
type EventType string

// Scheduler event types (scheduler.proto, message Event).
const (
	EventSubscribed            EventType = "SUBSCRIBED"
	EventOffers                EventType = "OFFERS"
	EventInverseOffers         EventType = "INVERSE_OFFERS"
	EventRescind               EventType = "RESCIND"
	EventRescindInverseOffer   EventType = "RESCIND_INVERSE_OFFER"
	EventUpdate                EventType = "UPDATE"
	EventUpdateOperationStatus EventType = "UPDATE_OPERATION_STATUS"
	EventMessage               EventType = "MESSAGE"
	EventFailure               EventType = "FAILURE"
	EventError                 EventType = "ERROR"
	EventHeartbeat             EventType = "HEARTBEAT"
)

// Event is one record of a framework's event stream.
type Event struct {
	Type                  EventType              `json:"type"`
	Subscribed            *Subscribed            `json:"subscribed,omitempty"`
	Offers                *Offers                `json:"offers,omitempty"`
	InverseOffers         *InverseOffers         `json:"inverse_offers,omitempty"`
	Rescind               *Rescind               `json:"rescind,omitempty"`
	RescindInverseOffer   *RescindInverseOffer   `json:"rescind_inverse_offer,omitempty"`
	Update                *Update                `json:"update,omitempty"`
	UpdateOperationStatus *UpdateOperationStatus `json:"update_operation_status,omitempty"`
	Message               *FrameworkMessage      `json:"message,omitempty"`
	Failure               *Failure               `json:"failure,omitempty"`
	Error                 *ErrorEvent            `json:"error,omitempty"`
}

// Subscribed is the first event of a stream.
type Subscribed struct {
	FrameworkID              FrameworkID `json:"framework_id"`
	HeartbeatIntervalSeconds *Float64    `json:"heartbeat_interval_seconds,omitempty"`
	MasterInfo               *MasterInfo `json:"master_info,omitempty"`
}

// Offers carries new offers; the key is "offers" twice on the wire.
type Offers struct {
	Offers []Offer `json:"offers,omitempty"`
}

// InverseOffers carries new inverse offers.
type InverseOffers struct {
	InverseOffers []InverseOffer `json:"inverse_offers,omitempty"`
}

// Rescind withdraws an offer.
type Rescind struct {
	OfferID OfferID `json:"offer_id"`
}

// RescindInverseOffer withdraws an inverse offer.
type RescindInverseOffer struct {
	InverseOfferID OfferID `json:"inverse_offer_id"`
}

// Update carries a task status update.
type Update struct {
	Status TaskStatus `json:"status"`
}

// UpdateOperationStatus carries an operation status update.
type UpdateOperationStatus struct {
	Status OperationStatus `json:"status"`
}

// OperationStatus is the state of an offer operation.
type OperationStatus struct {
	OperationID        *OperationID        `json:"operation_id,omitempty"`
	State              string              `json:"state"`
	Message            string              `json:"message,omitempty"`
	ConvertedResources []Resource          `json:"converted_resources,omitempty"`
	UUID               *UUID               `json:"uuid,omitempty"`
	AgentID            *AgentID            `json:"agent_id,omitempty"`
	ResourceProviderID *ResourceProviderID `json:"resource_provider_id,omitempty"`
}

// Failure reports that an agent was removed or an executor terminated.
type Failure struct {
	AgentID    *AgentID    `json:"agent_id,omitempty"`
	ExecutorID *ExecutorID `json:"executor_id,omitempty"`
	Status     *Int64      `json:"status,omitempty"`
}

// ErrorEvent ends a subscription: the framework should stop or re-subscribe.
type ErrorEvent struct {
	Message string `json:"message"`
}
