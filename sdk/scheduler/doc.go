// Package scheduler is the client framework authors use to talk to Mezzo
// (or Mesos) masters over the v1 scheduler HTTP API: it subscribes a
// framework, delivers its events to a handler, keeps the subscription
// alive across master restarts and failovers, and makes calls on the
// framework's behalf.
//
// # A tour
//
// A framework is a Config and a Handler. The handler sees every event of
// the framework's stream, one at a time, in order, and makes calls from
// there:
//
//	c := scheduler.New(scheduler.Config{
//		Masters:         []string{"m1:5050", "m2:5050"},
//		Framework:       api.FrameworkInfo{User: "svc", Name: "hello"},
//		FailoverTimeout: 7 * 24 * time.Hour,
//	})
//	err := c.Run(ctx, func(ctx context.Context, ev *api.Event) error {
//		switch ev.Type {
//		case api.EventSubscribed:
//			// First event of every (re)subscription: offers from before
//			// are void. Save c.FrameworkID() to re-subscribe after a
//			// restart of this process.
//		case api.EventOffers:
//			for _, o := range ev.Offers.Offers {
//				var launch []api.TaskInfo
//				launch, queue = scheduler.Pack(o, queue)
//				var err error
//				if len(launch) > 0 {
//					err = c.Launch(ctx, o.ID, launch...)
//				} else {
//					err = c.Decline(ctx, 5, o.ID)
//				}
//				if err != nil {
//					return err // ErrNotConnected only re-subscribes
//				}
//			}
//		case api.EventUpdate:
//			// Acknowledged for you once the handler returns nil, unless
//			// Config.ManualAcknowledge is set. Updates are delivered at
//			// least once: handle duplicates.
//		}
//		return nil
//	})
//
// Tasks are built with CommandTask and WasmTask; Fits, Take and Pack match
// them against offers, taking care of reservations and allocation_info,
// and Ports picks ports from an offer's ranges.
//
// # Staying subscribed
//
// Run returns only when its context ends, the handler returns an error,
// the framework tears itself down or is removed, or the master refuses the
// subscription outright. Otherwise it keeps the framework subscribed:
//
//   - it follows a non-leading master's 307 to the leader (Mesos sends
//     Location: //host:port/api/v1/scheduler) and sends calls there, but
//     never from https, or with Config.TLS set, to plain http
//     (ErrInsecureRedirect): the credentials would go unencrypted;
//   - when a master is unreachable or answers 503, when the stream ends, or
//     when no event (heartbeats included) arrives for MissedHeartbeats
//     heartbeat intervals, it calls Config.Disconnected and subscribes
//     again, with jittered exponential backoff, going round Masters, with
//     the same framework ID;
//   - after every SUBSCRIBED it reconciles, as Mesos's high-availability
//     guide advises: the non-terminal tasks the client knows of are
//     reconciled explicitly until each has an update newer than the
//     subscription, then all tasks implicitly, and again every
//     ReconcileInterval. The answers arrive as UPDATE events with reason
//     REASON_RECONCILIATION.
//
// An ERROR event goes to the handler first. "Framework has been removed"
// and "Framework failed over" end Run with an *ErrorEvent; after any other
// the client subscribes again, unless the handler returned an error.
//
// A framework that should survive its own restarts and the master's sets
// a FailoverTimeout: with the default of zero the master removes the
// framework, and kills its tasks, as soon as the connection breaks.
//
// # Calls
//
// Calls (Accept, Launch, Decline, Kill, Acknowledge, Reconcile, Revive,
// Suppress, UpdateFramework, Message, Shutdown, Teardown, and Call for any
// other) go to the master of the current subscription. A call made while
// there is none, or interrupted because the subscription ended, returns an
// error wrapping ErrNotConnected at once rather than waiting; a call the
// master refuses returns an *HTTPError. A nil error means the master took
// the call: the outcome of a launch or a kill comes as events.
//
// # Concurrency
//
// A Client is safe for concurrent use: calls may be made from the handler
// or from any other goroutine, while Run is running or not. Run itself may
// run once at a time. The handler is called on Run's goroutine, one event
// at a time, and Config.Disconnected between events on the same goroutine;
// reconciliation runs on a goroutine of Run's that ends before Run
// returns. The helpers (Fits, Take, Pack, Ports, CommandTask, WasmTask) are
// pure functions.
package scheduler
