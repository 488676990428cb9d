// Package e2e holds the end-to-end tests: they build the mezzo binary,
// start real daemons on free loopback ports in temporary directories, and
// drive them as a user would — through the CLI and the HTTP APIs. It has
// no code outside its tests.
//
// Beside it, the performance harness: e2e/simagent runs many simulated
// agents in one process, e2e/load is a framework that launches tasks as
// fast as a cluster takes them, and e2e/bench is the command that runs
// the whole suite (go run ./e2e/bench; see PERFORMANCE.md).
package e2e
