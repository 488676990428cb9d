// Command burn is a CPU burner task module: it hashes in a loop for the
// given duration (forever without one) and prints how much it hashed, so
// that CPU limits and budgets (limits.cpu_seconds, wasmtime fuel) can be
// watched at work.
//
//	mezzo run --cpus 0.5 ./samples/modules/burn -- 2s
package main
