package executor

import (
	"context"
	"errors"
	"fmt"
	"github.com/mezzo-cluster/mezzo/sdk/internal/httpapi"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/api/tlsconf"
)

// Handler receives the events of the executor's stream, one at a time and
// in order, on Run's goroutine; ctx is Run's. The event is the handler's
// to keep, and the payload matching its Type is never nil. An error the
// handler returns ends Run, which returns that error unchanged; except
// that an error wrapping ErrNotConnected, which a call makes when the
// connection failed under it, ends only the subscription (and, after
// SHUTDOWN, Run with ErrShutdown).
//
// Every event the agent sends is delivered, HEARTBEAT included. The first
// event of every (re)subscription is SUBSCRIBED. The handler should not
// block for long: while it runs no other event is handled, and after
// SHUTDOWN the grace period runs regardless.
type Handler func(ctx context.Context, ev *api.ExecutorEvent) error

// Client is an executor's connection to its agent. Its methods are safe
// for concurrent use; Run must not be called twice at once.
type Client struct {
	cfg   Config
	url   string // the agent's /api/v1/executor
	calls *http.Client
	// stream carries SUBSCRIBE, with no timeout.
	stream  http.RoundTripper
	running atomic.Bool

	mu   sync.Mutex
	sess *session // the subscription calls go to; nil while not subscribed
	led  ledger
}

// idleCalls is how many connections to the agent a client keeps, and
// the most it opens at once. Why: an executor's tasks send their updates
// concurrently, and every call past the idle connections dialled a new
// connection and closed it after. With net/http's default of two idle
// connections that was 11 % of a busy executor's CPU, and as much again
// in the agent accepting them; with 64 idle but no cap, 2,000 tasks
// starting together still spent 17 % of the executor's CPU dialling and
// closing (BenchmarkAgentThroughput). Past the cap a call waits for a
// connection to come free, which on loopback takes less than a dial.
const idleCalls = 64

// New returns a client; nothing is sent until Run. cfg is checked by Run.
func New(cfg Config) *Client {
	cfg = cfg.withDefaults()
	t := tlsconf.Transport(cfg.TLS)
	t.MaxIdleConnsPerHost = idleCalls
	t.MaxConnsPerHost = idleCalls
	calls := &http.Client{Timeout: CallTimeout, Transport: t}
	if cfg.HTTPClient != nil {
		c := *cfg.HTTPClient
		calls = &c
	}
	stream := calls.Transport
	if stream == nil {
		stream = http.DefaultTransport
	}
	return &Client{cfg: cfg, url: cfg.executorURL(), calls: calls, stream: stream, led: newLedger()}
}

// Unacknowledged returns what the next SUBSCRIBE would list: the tasks
// launched (by LAUNCH and LAUNCH_GROUP events the handler got) whose
// terminal update the agent has not acknowledged, each without its Data,
// and the updates it has not acknowledged, each in the order they arrived
// or were sent. An executor that has ended
// all its tasks may exit once both are empty.
func (c *Client) Unacknowledged() (tasks []api.TaskInfo, updates []api.ExecutorUpdate) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.led.snapshot(nil)
}

// Connected reports whether the client is subscribed, so that calls go
// through now.
func (c *Client) Connected() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sess != nil
}

// Run subscribes and delivers events to h until ctx ends, h returns an
// error, or the agent is gone for good. It returns nil when ctx ends, h's
// error unchanged, ErrShutdown after a SHUTDOWN event once the
// subscription ends or the grace period has passed, an *HTTPError for a
// SUBSCRIBE the agent refuses outright (400, 401, 403..., and 413 for a
// listing larger than the 16 MiB a call may carry, which the error
// counts), an error wrapping ErrRecoveryTimeout, or a Config error.
//
// Anything else ends only the current subscription: an unreachable agent
// or one answering 503 (as a recovering agent does), a stream that ends,
// an ERROR event, an event that cannot be decoded, a call that failed on
// the network. Run then waits a jittered, exponentially growing delay
// between MinBackoff and MaxBackoff and subscribes again, listing the
// unacknowledged tasks and updates (see Unacknowledged), for as long as
// RecoveryTimeout allows. When the new subscription starts (before its
// SUBSCRIBED reaches h), updates made meanwhile that the SUBSCRIBE did
// not list are sent.
func (c *Client) Run(ctx context.Context, h Handler) error {
	if err := c.cfg.Validate(); err != nil {
		return err
	}
	if !c.running.CompareAndSwap(false, true) {
		return errors.New("executor: Run is already running")
	}
	defer c.running.Store(false)
	defer c.calls.CloseIdleConnections()
	deadline := time.Now().Add(c.cfg.RecoveryTimeout)
	failures := 0
	for {
		subscribed, err := c.session(ctx, h)
		if ctx.Err() != nil {
			return nil
		}
		if stop := (*stopError)(nil); errors.As(err, &stop) {
			return stop.err
		}
		c.calls.CloseIdleConnections()
		if subscribed {
			failures = 0
			deadline = time.Now().Add(c.cfg.RecoveryTimeout)
		} else {
			failures++
		}
		if !time.Now().Before(deadline) {
			return fmt.Errorf("%w (%v): %w", ErrRecoveryTimeout, c.cfg.RecoveryTimeout, err)
		}
		delay := min(c.backoff(failures), time.Until(deadline))
		c.cfg.Logger.Info("subscription to the agent ended; subscribing again", "err", err, "after", delay)
		if !sleep(ctx, delay) {
			return nil
		}
	}
}

// backoff returns the delay before the next subscription attempt after
// failures failed attempts in a row (see httpapi.Backoff).
func (c *Client) backoff(failures int) time.Duration {
	return httpapi.Backoff(failures, c.cfg.MinBackoff, c.cfg.MaxBackoff)
}

// sleep waits for d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool { return httpapi.Sleep(ctx, d) }
