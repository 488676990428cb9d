package scheduler

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/sdk/internal/httpapi"
)

// session is one subscription: the stream Run reads and the leader calls
// go to.
type session struct {
	base     string // the master's base URL
	streamID string
	ctx      context.Context // ends with the subscription
	cancel   context.CancelCauseFunc
}

// eventBuffer is how many decoded events may wait for the handler; their
// records may hold at most httpapi.MaxBacklog bytes.
const eventBuffer = 64

// readEvent is an event the reader has decoded, with the size of its
// record, which it holds in the session's backlog until handled.
type readEvent struct {
	ev   *api.Event
	size int
}

// session subscribes through base and delivers events until the
// subscription ends. It reports whether SUBSCRIBED arrived, and why the
// subscription ended; a *stopError ends Run.
func (c *Client) session(ctx context.Context, h Handler, base string) (subscribed bool, err error) {
	sctx, cancel := context.WithCancelCause(ctx)
	defer cancel(ErrStreamEnded)
	// Until SUBSCRIBED names the master's interval, the default one bounds
	// how long connecting and subscribing may take.
	wd := httpapi.NewWatchdog(c.heartbeatTimeout(DefaultHeartbeat), func() { cancel(ErrMissedHeartbeats) })
	defer wd.Stop()
	resp, base, err := c.subscribe(sctx, base)
	if err != nil {
		return false, causeOf(sctx, err)
	}
	s := &session{base: base, streamID: resp.Header.Get("Mesos-Stream-Id"), ctx: sctx, cancel: cancel}
	events := make(chan readEvent, eventBuffer)
	backlog := httpapi.NewBacklog(httpapi.MaxBacklog)
	readErr := make(chan error, 1)
	go func() {
		readErr <- c.read(sctx, resp.Body, wd, backlog, events)
		close(events)
	}()
	var background sync.WaitGroup
	defer func() {
		c.disconnect(s)
		cancel(ErrStreamEnded)
		resp.Body.Close()
		for range events {
		}
		background.Wait()
	}()
	for r := range events {
		subscribed = subscribed || r.ev.Type == api.EventSubscribed
		handled := c.deliver(ctx, h, s, r.ev, &background)
		backlog.Free(r.size)
		if handled != nil {
			return subscribed, handled
		}
	}
	err = <-readErr
	if errors.Is(err, io.EOF) {
		err = ErrStreamEnded
	}
	return subscribed, fmt.Errorf("event stream from %s: %w", base, causeOf(sctx, err))
}

// causeOf prefers the reason ctx was cancelled (missed heartbeats, say)
// over the I/O error the cancellation caused.
func causeOf(ctx context.Context, err error) error {
	if cause := context.Cause(ctx); cause != nil && !errors.Is(err, cause) {
		return fmt.Errorf("%w (%v)", cause, err)
	}
	return err
}

// heartbeatTimeout is how long the stream may stay silent.
func (c *Client) heartbeatTimeout(interval time.Duration) time.Duration {
	return httpapi.SilenceTimeout(c.cfg.MissedHeartbeats, interval)
}

// deliver does the client's bookkeeping for one event around the
// handler's turn.
func (c *Client) deliver(ctx context.Context, h Handler, s *session, ev *api.Event, background *sync.WaitGroup) error {
	var since time.Time
	switch {
	case ev.Type == api.EventSubscribed && ev.Subscribed != nil:
		since = time.Now()
		c.connect(s, ev.Subscribed.FrameworkID.Value)
	case ev.Type == api.EventUpdate && ev.Update != nil:
		c.observe(ev.Update.Status, time.Now())
	}
	if err := h(ctx, ev); err != nil {
		if errors.Is(err, ErrNotConnected) {
			return err
		}
		return stop(err)
	}
	switch {
	case ev.Type == api.EventSubscribed && !since.IsZero():
		background.Add(1)
		go func() {
			defer background.Done()
			c.reconcile(s.ctx, since)
		}()
	case ev.Type == api.EventUpdate && ev.Update != nil:
		c.autoAcknowledge(ctx, ev.Update.Status)
	case ev.Type == api.EventError:
		e := &ErrorEvent{}
		if ev.Error != nil {
			e.Message = ev.Error.Message
		}
		if e.Fatal() {
			return stop(e)
		}
		return e
	}
	return nil
}

// connect makes s the subscription calls go to.
func (c *Client) connect(s *session, frameworkID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.info.ID = &api.FrameworkID{Value: frameworkID}
	c.sess = s
	c.leader = s.base
}

// disconnect forgets s; calls return ErrNotConnected from now on.
func (c *Client) disconnect(s *session) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sess == s {
		c.sess = nil
	}
}

func (c *Client) autoAcknowledge(ctx context.Context, st api.TaskStatus) {
	if c.cfg.ManualAcknowledge || len(st.UUID) == 0 || st.AgentID == nil {
		return
	}
	if err := c.Acknowledge(ctx, st.AgentID.Value, st.TaskID.Value, st.UUID); err != nil {
		// The master sends unacknowledged updates again after the next
		// subscription, so a lost acknowledgement costs a duplicate.
		c.cfg.Logger.Warn("acknowledge status update", "task", st.TaskID.Value, "state", st.State, "err", err)
	}
}

// subscribe POSTs SUBSCRIBE to base, following redirects to the leader. It
// returns the 200 response and the base URL of the master that gave it.
func (c *Client) subscribe(ctx context.Context, base string) (*http.Response, string, error) {
	call := c.subscribeCall()
	for hops := 0; ; hops++ {
		resp, err := c.post(ctx, c.stream.RoundTrip, base, call, "")
		if err != nil {
			return nil, base, fmt.Errorf("subscribe to %s: %w", base, err)
		}
		switch code := resp.StatusCode; {
		case code == http.StatusOK:
			return resp, base, nil
		case isRedirect(code) && hops < httpapi.MaxRedirects:
			loc := resp.Header.Get("Location")
			resp.Body.Close()
			next, err := leaderBase(base, loc, c.cfg.TLS != nil)
			if err != nil {
				return nil, base, fmt.Errorf("subscribe to %s: %w", base, err)
			}
			c.cfg.Logger.Debug("redirected to the leading master", "from", base, "to", next)
			base = next
		default:
			herr := readHTTPError(resp).(*HTTPError)
			resp.Body.Close()
			err := fmt.Errorf("subscribe to %s: %w", base, herr)
			if !herr.Retryable() && !isRedirect(code) {
				return nil, base, stop(err)
			}
			return nil, base, err
		}
	}
}

func isRedirect(code int) bool {
	switch code {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return true
	}
	return false
}

// leaderBase turns a redirect's Location into the leader's base URL. A
// non-leading Mesos master answers with a protocol-relative
// "//host:port/api/v1/scheduler", resolved against the request; a bare
// "host:port", as Mesos's documentation shows it, is accepted too. A
// redirect from https, or with tls set, to plain http is refused
// (httpapi.ErrInsecureRedirect): the credentials go with SUBSCRIBE.
func leaderBase(base, loc string, tls bool) (string, error) {
	if loc == "" {
		return "", errors.New("redirect without a Location")
	}
	from, err := url.Parse(base + "/api/v1/scheduler")
	if err != nil {
		return "", err
	}
	if !strings.Contains(loc, "://") && !strings.HasPrefix(loc, "/") {
		loc = "//" + loc
	}
	u, err := from.Parse(loc)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("redirect to %q: not a master's address", loc)
	}
	if err := httpapi.CheckRedirect(from, u, tls); err != nil {
		return "", err
	}
	path := strings.TrimSuffix(strings.TrimRight(u.Path, "/"), "/api/v1/scheduler")
	next := u.Scheme + "://" + u.Host + path
	if v, err := url.Parse(next + "/api/v1/scheduler"); err != nil || v.Host == "" {
		return "", fmt.Errorf("redirect to %q: not a master's address", loc)
	}
	return next, nil
}

// subscribeCall builds SUBSCRIBE from the current framework info, with the
// roles the framework suppressed.
func (c *Client) subscribeCall() *api.Call {
	c.mu.Lock()
	defer c.mu.Unlock()
	info := c.info
	var suppressed []string
	for _, r := range info.AllRoles() {
		if c.suppressed[r] {
			suppressed = append(suppressed, r)
		}
	}
	return &api.Call{Type: api.CallSubscribe, FrameworkID: info.ID,
		Subscribe: &api.Subscribe{FrameworkInfo: info, SuppressedRoles: suppressed}}
}

// post sends one call to the master at base.
func (c *Client) post(ctx context.Context, do func(*http.Request) (*http.Response, error), base string, call *api.Call, streamID string) (*http.Response, error) {
	body, err := json.Marshal(call)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1/scheduler", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if streamID != "" {
		req.Header.Set("Mesos-Stream-Id", streamID)
	}
	if c.cfg.Principal != "" {
		req.SetBasicAuth(c.cfg.Principal, c.cfg.Secret)
	}
	return do(req)
}

// read decodes the stream's records into out until the stream fails or ctx
// ends, holding each record's size in backlog before it decodes it, so
// that what waits for the handler stays within it. The watchdog runs only
// while read waits for the network: a slow handler is not a silent
// master.
func (c *Client) read(ctx context.Context, body io.Reader, wd *httpapi.Watchdog, backlog *httpapi.Backlog, out chan<- readEvent) error {
	rr := api.NewRecordReader(body)
	for {
		rec, err := rr.ReadRecord()
		if err != nil {
			return err
		}
		wd.Pause()
		if err := backlog.Hold(ctx, len(rec)); err != nil {
			return context.Cause(ctx)
		}
		ev := new(api.Event)
		if err := json.Unmarshal(rec, ev); err != nil {
			return fmt.Errorf("decode event: %w", err)
		}
		if ev.Type == api.EventSubscribed && ev.Subscribed != nil && ev.Subscribed.HeartbeatIntervalSeconds != nil {
			if interval, ok := httpapi.HeartbeatInterval(float64(*ev.Subscribed.HeartbeatIntervalSeconds)); ok {
				wd.SetTimeout(c.heartbeatTimeout(interval))
			}
		}
		select {
		case out <- readEvent{ev: ev, size: len(rec)}:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
		wd.Resume()
	}
}
