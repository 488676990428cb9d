// Package executortest provides a stand-in agent for testing executors:
// an HTTP server that speaks the v1 Executor API on a loopback port, as
// net/http/httptest provides servers for testing HTTP clients.
//
// # A tour
//
// Start an Agent, point the executor at its Endpoint, drive it with
// events and watch what it sends:
//
//	agent := executortest.NewAgent(executortest.Options{})
//	defer agent.Close()
//	cfg := executor.Config{AgentEndpoint: agent.Endpoint(), FrameworkID: "fw", ExecutorID: "ex"}
//	go runMyExecutor(ctx, cfg)
//
//	agent.Wait(ctx, agent.Connected)
//	agent.Launch(api.TaskInfo{TaskID: api.TaskID{Value: "t1"}, ...})
//	agent.Wait(ctx, func() bool {
//		s := agent.States("t1")
//		return len(s) > 0 && s[len(s)-1].IsTerminal()
//	})
//
// Updates are acknowledged as they arrive unless Options.ManualAck is set.
// Drop breaks the stream as a crashing agent would, and SetDown makes the
// agent refuse every request with 503, as a restarting agent does, until
// SetDown(false); Subscriptions then shows what the executor listed as
// unacknowledged when it came back.
//
// # Concurrency
//
// An Agent is safe for concurrent use; its methods may be called from any
// goroutine, and Wait's condition may call them.
package executortest
