// Command bench is Mezzo's performance harness: it builds the mezzo
// binary, starts real masters and agents (and simulated agents from
// e2e/simagent) on loopback, measures the figures of issue #9 — launch
// latency, throughput, native launch beside fork+exec, allocation passes
// with up to 50,000 agents, a C1M-style run, failover, memory and CPU per
// task — prints them beside their targets and writes them as JSON, from
// which it can also draw the latency plots (SVG).
//
//	go run ./e2e/bench                  # the whole suite (tens of minutes)
//	go run ./e2e/bench -quick           # small sizes, a few minutes
//	go run ./e2e/bench -items a,c       # some items only
//	go run ./e2e/bench -plot bench-out/results.json -svg docs/perf
//
// Run it from the repository root. See PERFORMANCE.md for the figures and
// how to read them.
package main
