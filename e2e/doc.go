// Package e2e holds the end-to-end tests: they build the mezzo binary,
// start real daemons on free loopback ports in temporary directories, and
// drive them as a user would — through the CLI and the HTTP APIs. It has
// no code outside its tests.
package e2e
