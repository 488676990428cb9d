//go:build race

package sandbox

// raceEnabled is set when the tests run under the race detector, whose
// shadow memory inflates a process's RSS.
const raceEnabled = true
