// Package samples holds example task modules and frameworks, each a
// complete, documented program that framework and task authors can copy.
//
//   - samples/modules/hello: the smallest task module (Go, wasip1): it
//     greets its arguments, using the GREETING environment variable.
//   - samples/modules/burn, hog, sleeper, heartbeat: modules for trying
//     limits and lifecycles: a CPU burner, a memory hog, a task that
//     sleeps, and a service-like task that prints a heartbeat forever.
//   - samples/execute: the smallest complete framework: it runs a command
//     as N tasks with the SDK, prints their final states and exits
//     non-zero if any failed.
//   - samples/wordcount: a map-reduce over Wasm tasks: map tasks
//     (samples/modules/wcmap) count the words of chunks of a text, reduce
//     tasks (samples/modules/wcreduce) sum each word's counts; the
//     framework fetches inputs to the tasks and reads their outputs back.
//   - samples/jobs: a Chronos-like job scheduler: ISO 8601 repeating and
//     cron schedules, dependent jobs, retries, run history, manual runs,
//     an HTTP API, and a state file that lets it survive its own restart.
//   - samples/services: a Marathon-like service runner: instances kept at
//     their count with backoff, health checks, Marathon's constraints,
//     scaling and rolling restarts, an HTTP API and a state file.
//
// Modules are built with the Go toolchain:
//
//	GOOS=wasip1 GOARCH=wasm go build -o hello.wasm ./samples/modules/hello
//
// and mezzo run builds a package directory by itself.
package samples
