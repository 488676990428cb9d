package api

// Headers with which a standby master marks a read-only view it serves
// from its replica of the registry rather than redirecting to the leader.
// Such a view may lag the leader's by the entries the standby has not yet
// applied, and it holds what the registry records (no offers, and
// connections as of the last recorded change); a client that needs the
// leader's own answer follows HeaderLeader, or sends the call to a master
// that answers without HeaderView.
const (
	// HeaderView is "replica" on a view a standby served from its replica.
	HeaderView = "Mezzo-View"
	// HeaderAppliedIndex is the raft index the replica reflects: of two
	// views from standbys, the one with the higher index is the newer.
	HeaderAppliedIndex = "Mezzo-Applied-Index"
	// HeaderLeader is the leader's host:port, absent while none is known.
	HeaderLeader = "Mezzo-Leader"
)

// ViewReplica is HeaderView's value on a standby's view.
const ViewReplica = "replica"
