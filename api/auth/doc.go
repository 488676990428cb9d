// Package auth authenticates HTTP requests against a credentials file:
// HTTP Basic (principal and secret) and bearer tokens, compared in
// constant time. Master and agent both use it (they may share nothing
// but api), and so does every client that must present a credential; it
// does no I/O of its own — callers read the file and hand over bytes.
package auth
