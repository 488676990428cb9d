// Package simagent runs many simulated agents in one process, each
// speaking Mezzo's real agent protocol (api/agent.go, served by
// master/agentapi.go) over HTTP to a real master, so that the master can
// be measured with tens of thousands of agents on one machine — the
// approach of Mesos's emulated slaves and Nomad's node simulator.
//
// A simulated agent subscribes with the resources of its Config, keeps
// its event stream open, and answers LAUNCH with status updates as a real
// agent would: TASK_RUNNING at once, then TASK_FINISHED after
// Config.TaskDuration (never, for Forever), or TASK_KILLED on KILL or
// SHUTDOWN_FRAMEWORK. Each task's updates go up in order, one in flight at
// a time, and are sent again until the master relays the framework's
// acknowledgement, as the real agent's update manager does; the updates
// an agent has waiting go up in one call, as the real agent's do.
// Nothing runs: a simulated task is a few hundred bytes of bookkeeping.
//
// With replicated masters, Config.Master lists them all: an agent follows
// a standby's 307 to the leader, moves on to the next master when one is
// unreachable or has no leader (503), waiting a random time up to a bound
// that doubles from 100 ms to 2 s between attempts, and re-subscribes with
// its ID and its tasks when the leader dies — so a leader's failover can
// be measured with thousands of agents (Fleet.SubscribedSince).
//
// # A tour
//
//	fleet, err := simagent.Start(ctx, simagent.Config{
//		Master:       "127.0.0.1:5050",
//		Agents:       5000,
//		Resources:    res, // e.g. api.ParseResources("cpus:16;mem:65536")
//		TaskDuration: simagent.Forever,
//	})
//	if err != nil { ... }
//	defer fleet.Close()
//	// ... drive a framework against the master ...
//	s := fleet.Stats() // launched, running, finished, updates sent, ...
//
// # Cost
//
// Each agent's event stream is a long-lived HTTP/1.1 response, so it
// needs a TCP connection of its own; it is read by one goroutine through
// small buffers, without net/http's per-connection reader and writer
// goroutines. Status updates are short calls and share one pooled
// Transport among all agents. Past about 28,000 connections one source
// address runs out of ephemeral ports; Config.SourceAddrs spreads the
// streams over several loopback addresses (127.0.0.2, 127.0.0.3, ...).
//
// # Concurrency
//
// A Fleet is safe for concurrent use: Stats and Close may be called from
// any goroutine while the agents run.
package simagent
