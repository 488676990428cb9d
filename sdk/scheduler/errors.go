package scheduler

import (
	"errors"
	"github.com/mezzo-cluster/mezzo/sdk/internal/httpapi"
	"net/http"
	"strings"
)

// ErrNotConnected is returned (wrapped) by calls made while the client has
// no subscription: before the first SUBSCRIBED event, while Run is
// reconnecting, after Run returned, or when the subscription ends while
// the call is in flight. The call was not carried out, or its outcome is
// unknown; offers named in it are void anyway.
var ErrNotConnected = errors.New("not subscribed to a master")

// Messages of ERROR events after which subscribing again cannot help, so
// Run returns instead of reconnecting.
const (
	// MsgFrameworkRemoved: the framework was torn down, or its failover
	// timeout passed; its ID cannot be used again.
	MsgFrameworkRemoved = "Framework has been removed"
	// MsgFrameworkFailedOver: another scheduler subscribed with this
	// framework's ID and took over; reconnecting would take it back.
	MsgFrameworkFailedOver = "Framework failed over"
)

// ErrorEvent is returned by Run when the master ends the subscription with
// an ERROR event that subscribing again cannot cure (see Fatal).
type ErrorEvent struct{ Message string }

func (e *ErrorEvent) Error() string { return "master sent ERROR: " + e.Message }

// Fatal reports whether the error ends the framework: it was removed or
// another scheduler took it over.
func (e *ErrorEvent) Fatal() bool {
	return strings.HasPrefix(e.Message, MsgFrameworkRemoved) || strings.HasPrefix(e.Message, MsgFrameworkFailedOver)
}

// HTTPError is returned for a call the master refused; Code is the HTTP
// status (400 invalid call, 403 not subscribed, 307 not the leader, ...)
// and Message the master's explanation.
type HTTPError = httpapi.Error

func readHTTPError(resp *http.Response) error { return httpapi.ReadError(resp) }

// ErrInsecureRedirect is returned (wrapped) when a master redirects
// SUBSCRIBE from https, or a client configured with TLS, to plain http:
// the client does not follow, so that its credentials never cross the
// network unencrypted. Run counts it as a failed subscription and tries
// the next master.
var ErrInsecureRedirect = httpapi.ErrInsecureRedirect

// Reasons a subscription ends, given to Config.Disconnected (wrapped).
var (
	// ErrMissedHeartbeats: no event arrived for MissedHeartbeats
	// heartbeat intervals. It is the same error as
	// operator.ErrMissedHeartbeats.
	ErrMissedHeartbeats = httpapi.ErrMissedHeartbeats
	// ErrStreamEnded: the master closed the event stream.
	ErrStreamEnded = errors.New("event stream ended")
	// errLeaderChanged: a call was redirected, so the master the client
	// is subscribed to no longer leads.
	errLeaderChanged = errors.New("master no longer leads")
	// errTornDown: the framework tore itself down.
	errTornDown = errors.New("framework torn down")
)

// stopError wraps an error that ends Run rather than a subscription.
type stopError struct{ err error }

func (e *stopError) Error() string { return e.err.Error() }
func (e *stopError) Unwrap() error { return e.err }
