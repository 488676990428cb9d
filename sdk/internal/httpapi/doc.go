// Package httpapi holds what the SDK's clients share about talking to
// Mezzo's HTTP APIs: the error a refused call returns, and how a master or
// agent address becomes a base URL. It is internal to the SDK; each client
// package re-exports the error type under its own name.
package httpapi
