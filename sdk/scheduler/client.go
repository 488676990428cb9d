package scheduler

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

// Handler receives the events of a framework's stream, one at a time and in
// order, on Run's goroutine; ctx is Run's. The event is the handler's to
// keep. An error it returns ends Run, which returns that error unchanged;
// except that an error wrapping ErrNotConnected, which a call makes when
// the subscription ended under it, ends only the subscription, so that a
// handler may return its calls' errors.
//
// Every event the master sends is delivered, HEARTBEAT included. After
// every (re)subscription the first event is SUBSCRIBED; offers from
// before it are void.
type Handler func(ctx context.Context, ev *api.Event) error

// Client is a framework's connection to the masters. Its methods are safe
// for concurrent use; Run must not be called twice at once.
type Client struct {
	cfg     Config
	masters []string // base URLs
	calls   *http.Client
	// stream carries SUBSCRIBE, with no timeout and no redirect handling:
	// http.Client refuses a Location such as "host:5050", which Mesos's
	// documentation shows.
	stream  http.RoundTripper
	running atomic.Bool

	mu         sync.Mutex
	info       api.FrameworkInfo // sent on the next SUBSCRIBE; ID set once known
	suppressed map[string]bool   // roles to re-subscribe suppressed
	sess       *session          // nil while not subscribed
	leader     string            // base URL to try first; "" to go by the list
	tasks      map[string]*knownTask
	teardown   chan struct{} // closed when the latest Teardown call returns
	tornDown   bool          // a Teardown succeeded during this Run
}

// New returns a client; nothing is sent until Run. cfg is checked by Run.
func New(cfg Config) *Client {
	cfg = cfg.withDefaults()
	calls := &http.Client{Timeout: CallTimeout}
	if cfg.TLS != nil {
		calls.Transport = tlsconf.Transport(cfg.TLS)
	}
	if cfg.HTTPClient != nil {
		c := *cfg.HTTPClient
		calls = &c
	}
	calls.CheckRedirect = noRedirects
	stream := calls.Transport
	if stream == nil {
		stream = http.DefaultTransport
	}
	return &Client{
		cfg:        cfg,
		masters:    cfg.masters(),
		calls:      calls,
		stream:     stream,
		info:       cfg.frameworkInfo(),
		suppressed: map[string]bool{},
		tasks:      map[string]*knownTask{},
	}
}

// noRedirects makes an http.Client hand 3xx answers back; Run follows a
// SUBSCRIBE's redirect itself so that it learns the leader.
func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// BaseURL turns HOST:PORT into http://HOST:PORT and leaves URLs alone.
func BaseURL(master string) string { return httpapi.BaseURL(master) }

// FrameworkID returns the framework's ID once the master assigned it (or
// the one Config.Framework named), else "".
func (c *Client) FrameworkID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.info.ID == nil {
		return ""
	}
	return c.info.ID.Value
}

// Leader returns the base URL of the master the client is subscribed to,
// or "" while it is not subscribed.
func (c *Client) Leader() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sess == nil {
		return ""
	}
	return c.sess.base
}

// Run subscribes and delivers events to h until ctx ends, h returns an
// error, or the framework ends. It returns nil when ctx ends or after a
// successful Teardown, h's error unchanged, an *ErrorEvent whose Fatal is
// true (the framework was removed or taken over), an *HTTPError for a
// subscription the master refuses outright (400, 401, 403...), or a
// Config error.
//
// Anything else ends only the current subscription: a 503 or unreachable
// master, a stream the master closes, MissedHeartbeats heartbeats without
// an event, an ERROR event that is not fatal. Run then calls
// Config.Disconnected (if the subscription had been established), waits a
// jittered, exponentially growing delay between MinBackoff and
// MaxBackoff, and subscribes again with the same framework ID (and the
// roles Suppress left suppressed), trying the last leader first and then
// the masters in turn. A subscription that fails moves on to the next
// master at once; the delay comes after a round in which every master
// failed. Calls made meanwhile return ErrNotConnected. With
// Config.MaxFailures set, Run gives up after that many failed rounds in
// a row and returns the last error.
//
// After each SUBSCRIBED event Run reconciles, on its own goroutine: every
// non-terminal task the client knows of (from Launch, Accept and UPDATE
// events) is reconciled explicitly, with backoff, until an update for it
// arrives; then once implicitly; then implicitly every ReconcileInterval.
func (c *Client) Run(ctx context.Context, h Handler) error {
	if err := c.cfg.Validate(); err != nil {
		return err
	}
	if !c.running.CompareAndSwap(false, true) {
		return errors.New("scheduler: Run is already running")
	}
	defer c.running.Store(false)
	c.mu.Lock()
	c.tornDown, c.teardown = false, nil
	c.mu.Unlock()
	// failures counts rounds in a row in which every master failed;
	// tried, the masters this round has tried. Why rounds: while the
	// masters elect a new leader, the old one refuses connections and the
	// others still redirect to it, so a one-shot tool counting attempts
	// gave up within its first few seconds of a failover.
	failures, next, tried := 0, 0, 0
	for {
		target := c.target(next)
		subscribed, err := c.session(ctx, h, target)
		if ctx.Err() != nil || c.wasTornDown(ctx) {
			return nil
		}
		if stop := (*stopError)(nil); errors.As(err, &stop) {
			return stop.err
		}
		c.calls.CloseIdleConnections()
		if subscribed {
			failures, tried = 0, 0
			if c.cfg.Disconnected != nil {
				c.cfg.Disconnected(err)
			}
		} else {
			next++
			c.forgetLeader()
			if tried++; tried < len(c.masters) {
				c.cfg.Logger.Debug("subscription failed; trying the next master", "master", target, "err", err)
				continue
			}
			tried = 0
			failures++
			if c.cfg.MaxFailures > 0 && failures >= c.cfg.MaxFailures {
				return err
			}
		}
		delay := c.backoff(failures)
		c.cfg.Logger.Info("subscription ended; subscribing again", "master", target, "err", err, "after", delay)
		if !sleep(ctx, delay) {
			return nil
		}
	}
}

// target returns the master to subscribe to: the last leader, else the
// masters in turn.
func (c *Client) target(next int) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.leader != "" {
		return c.leader
	}
	return c.masters[next%len(c.masters)]
}

// wasTornDown reports whether a Teardown succeeded, waiting for one in
// flight: the master ends the stream before its answer to the call
// arrives.
func (c *Client) wasTornDown(ctx context.Context) bool {
	c.mu.Lock()
	pending := c.teardown
	c.mu.Unlock()
	if pending != nil {
		select {
		case <-pending:
		case <-ctx.Done():
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tornDown
}

func (c *Client) forgetLeader() {
	c.mu.Lock()
	c.leader = ""
	c.mu.Unlock()
}

// backoff returns the delay before the next subscription attempt after
// failures failed attempts in a row (see httpapi.Backoff).
func (c *Client) backoff(failures int) time.Duration {
	return httpapi.Backoff(failures, c.cfg.MinBackoff, c.cfg.MaxBackoff)
}

// sleep waits for d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool { return httpapi.Sleep(ctx, d) }

// stop marks err as ending Run.
func stop(err error) error { return &stopError{err: err} }

// wrap adds the call type to a call's error.
func wrap(t api.CallType, err error) error { return fmt.Errorf("%s: %w", t, err) }
