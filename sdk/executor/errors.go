package executor

import (
	"errors"
	"github.com/mezzo-cluster/mezzo/sdk/internal/httpapi"
	"net/http"
)

// ErrNotConnected is returned (wrapped) by calls made while the client has
// no subscription: before the first SUBSCRIBED event, while Run is
// re-subscribing, after Run returned, or when the connection failed under
// the call. An UPDATE that returns it is not lost: the client keeps it
// and sends it again with the next SUBSCRIBE, so the caller must not send
// it a second time.
var ErrNotConnected = errors.New("not subscribed to the agent")

// ErrRecoveryTimeout is returned (wrapped, with the last error) by Run
// when no subscription succeeded within Config.RecoveryTimeout.
var ErrRecoveryTimeout = errors.New("agent recovery timeout passed")

// ErrShutdown is returned by Run after the agent sent SHUTDOWN, once the
// subscription ends (the agent closes the stream, sends ERROR, or a call
// of the handler's fails with ErrNotConnected) or
// Config.ShutdownGracePeriod has passed. Run does not subscribe again
// after SHUTDOWN: the agent is done with the executor.
var ErrShutdown = errors.New("agent asked the executor to shut down")

// ErrStreamEnded is why a subscription ends when the agent closes the
// event stream.
var ErrStreamEnded = errors.New("event stream ended")

// HTTPError is returned for a call the agent refused: Code is the HTTP
// status (400 invalid call, 401 or 403 bad token, 503 agent recovering,
// ...) and Message the agent's explanation. It is the same type as
// scheduler.HTTPError.
type HTTPError = httpapi.Error

func readHTTPError(resp *http.Response) *HTTPError { return httpapi.ReadError(resp) }

// ErrorEvent ends a subscription when the agent sends an ERROR event; Run
// then subscribes again, as Mesos advises.
type ErrorEvent struct{ Message string }

// Error returns the agent's message.
func (e *ErrorEvent) Error() string { return "agent sent ERROR: " + e.Message }

// stopError wraps an error that ends Run rather than a subscription.
type stopError struct{ err error }

func (e *stopError) Error() string { return e.err.Error() }
func (e *stopError) Unwrap() error { return e.err }

// stop marks err as ending Run.
func stop(err error) error { return &stopError{err: err} }
