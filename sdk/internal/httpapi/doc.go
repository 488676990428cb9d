// Package httpapi holds what the SDK's clients share about talking to
// Mezzo's HTTP APIs: the error a refused call returns, how a master or
// agent address becomes a base URL, which redirects a client follows,
// which heartbeat intervals it believes, the watchdog that ends a silent
// event stream, and the backlog that bounds what a stream's reader
// decodes ahead of a slow handler. It is internal to the SDK; each client package
// re-exports the error type under its own name.
package httpapi
