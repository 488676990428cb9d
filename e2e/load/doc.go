// Package load is a framework that launches a given number of tasks on a
// master as fast as the cluster takes them and reports what happened:
// counts, the time from each ACCEPT to the TASK_RUNNING the framework
// receives, and the total time. The performance harness (e2e/bench)
// drives real and simulated agents (e2e/simagent) with it.
//
//	res, err := load.Run(ctx, load.Config{
//		Master: addr,
//		Tasks:  10000,
//		Task:   func(i int) api.TaskInfo { return scheduler.WasmTask(...) },
//		Until:  api.TaskFinished,
//	})
//
// It subscribes with the SDK's scheduler client (sdk/scheduler),
// acknowledges updates from a pool of goroutines and accepts offers from
// another, so that the handler never falls behind the event stream: a
// framework that lags 4,096 events is disconnected by the master.
//
// Run may be called from several goroutines at once, each call being a
// framework of its own.
package load
