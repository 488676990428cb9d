// Package registry is the masters' replicated, durable state: frameworks,
// agents, tasks, module metadata, weights, quotas and maintenance, kept in
// a bbolt file (<dir>/registry.db) that every master changes only by
// applying entries of a hashicorp/raft log.
//
// The state machine is a small key-value store: a Command puts or deletes
// JSON records in named buckets, several at once in one bbolt transaction.
// A command may carry a Once ID (a launch ID, say): the FSM applies a given
// Once ID at most once, so a command retried after raft answered
// indeterminately (ErrLeadershipLost: the entry may or may not commit) never
// takes effect twice. The typed records (Framework, Agent, Task, ...) and
// the helpers that turn them into commands live beside it, so that the
// master never spells a bucket name.
//
// A tour:
//
//	reg, err := registry.Open(ctx, registry.Config{Dir: dir, Addr: "10.0.0.1:5050",
//		Peers: peers, Transport: mux.Raft()})
//	err = reg.Apply(ctx, registry.PutFramework(fw))   // leader only
//	state, err := reg.Load()                          // any master, its replica
//	<-reg.LeaderCh()                                  // leadership changes
//	reg.TrackChanges(registry.BucketTasks)            // then, at each <-reg.Changed():
//	changes := reg.TakeChanges()                      // the records applied entries changed
//
// Masters find each other on the address they serve HTTP on: Mux splits
// one listener into the HTTP server's connections and raft's, told apart by
// the first byte raft's dialer sends.
//
// A Registry and an FSM are safe for concurrent use.
package registry
