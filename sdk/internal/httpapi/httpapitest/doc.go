// Package httpapitest holds what the tests of the SDK's clients share
// about their event streams: feeding a reader records and watching what
// it hands on to a handler that does not take it.
package httpapitest
