package scheduler

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

// Config describes the framework and where its master is.
type Config struct {
	// Master is HOST:PORT or a base URL of a master.
	Master string
	// Framework is sent on SUBSCRIBE. Its ID, when set, re-subscribes an
	// existing framework.
	Framework api.FrameworkInfo
	// ManualAcknowledge turns off automatic acknowledgement of status
	// updates; the handler must then call Acknowledge for every update
	// that carries a UUID.
	ManualAcknowledge bool
	// HTTPClient makes the calls; nil means a client with a 75 s timeout,
	// as Mesos recommends for calls other than SUBSCRIBE.
	HTTPClient *http.Client
}

// Handler receives the events of a framework's stream, one at a time. An
// error it returns ends Run.
type Handler func(ctx context.Context, ev *api.Event) error

// Client is a framework's connection to a master. It is safe for
// concurrent use.
type Client struct {
	cfg    Config
	base   string
	calls  *http.Client
	stream *http.Client

	mu          sync.Mutex
	streamID    string
	frameworkID string
}

// ErrorEvent is returned by Run when the master ends the subscription with
// an ERROR event (for example, "Framework has been removed").
type ErrorEvent struct{ Message string }

func (e *ErrorEvent) Error() string { return "master sent ERROR: " + e.Message }

// HTTPError is returned for a call the master refused; Code is the HTTP
// status (400 invalid call, 403 not subscribed, ...).
type HTTPError struct {
	Code    int
	Message string
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("%d %s: %s", e.Code, http.StatusText(e.Code), e.Message)
}

// New returns a client; nothing is sent until Run.
func New(cfg Config) *Client {
	calls := cfg.HTTPClient
	if calls == nil {
		calls = &http.Client{Timeout: 75 * time.Second}
	}
	c := &Client{cfg: cfg, base: BaseURL(cfg.Master), calls: calls, stream: &http.Client{Transport: calls.Transport}}
	if cfg.Framework.ID != nil {
		c.frameworkID = cfg.Framework.ID.Value
	}
	return c
}

// BaseURL turns HOST:PORT into http://HOST:PORT and leaves URLs alone.
func BaseURL(master string) string {
	if strings.Contains(master, "://") {
		return strings.TrimRight(master, "/")
	}
	return "http://" + master
}

// FrameworkID returns the framework's ID once the master assigned it.
func (c *Client) FrameworkID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.frameworkID
}

// Run subscribes and delivers events to h until the stream ends, ctx is
// cancelled or h returns an error. It returns nil only when ctx ends.
func (c *Client) Run(ctx context.Context, h Handler) error {
	info := c.cfg.Framework
	if id := c.FrameworkID(); id != "" {
		info.ID = &api.FrameworkID{Value: id}
	}
	call := &api.Call{Type: api.CallSubscribe, FrameworkID: info.ID, Subscribe: &api.Subscribe{FrameworkInfo: info}}
	resp, err := c.post(ctx, c.stream, call, "")
	if err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("subscribe: %w", readHTTPError(resp))
	}
	c.mu.Lock()
	c.streamID = resp.Header.Get("Mesos-Stream-Id")
	c.mu.Unlock()
	rr := api.NewRecordReader(resp.Body)
	for {
		rec, err := rr.ReadRecord()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("read events: %w", err)
		}
		var ev api.Event
		if err := json.Unmarshal(rec, &ev); err != nil {
			return fmt.Errorf("decode event: %w", err)
		}
		if err := c.observe(ctx, &ev); err != nil {
			return err
		}
		if err := h(ctx, &ev); err != nil {
			return err
		}
	}
}

// observe does the client's own bookkeeping for an event before the
// handler sees it.
func (c *Client) observe(ctx context.Context, ev *api.Event) error {
	switch ev.Type {
	case api.EventSubscribed:
		if ev.Subscribed != nil {
			c.mu.Lock()
			c.frameworkID = ev.Subscribed.FrameworkID.Value
			c.mu.Unlock()
		}
	case api.EventError:
		msg := ""
		if ev.Error != nil {
			msg = ev.Error.Message
		}
		return &ErrorEvent{Message: msg}
	case api.EventUpdate:
		if c.cfg.ManualAcknowledge || ev.Update == nil {
			return nil
		}
		st := ev.Update.Status
		if len(st.UUID) > 0 && st.AgentID != nil {
			return c.Acknowledge(ctx, st.AgentID.Value, st.TaskID.Value, st.UUID)
		}
	}
	return nil
}

// Call makes one call on the framework's behalf; it fills in the framework
// ID. It returns an *HTTPError when the master refuses the call.
func (c *Client) Call(ctx context.Context, call *api.Call) error {
	c.mu.Lock()
	streamID, fid := c.streamID, c.frameworkID
	c.mu.Unlock()
	if streamID == "" {
		return errors.New("call before subscribing")
	}
	call.FrameworkID = &api.FrameworkID{Value: fid}
	resp, err := c.post(ctx, c.calls, call, streamID)
	if err != nil {
		return fmt.Errorf("%s: %w", call.Type, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted && resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %w", call.Type, readHTTPError(resp))
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return nil
}

func (c *Client) post(ctx context.Context, client *http.Client, call *api.Call, streamID string) (*http.Response, error) {
	body, err := json.Marshal(call)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/api/v1/scheduler", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if streamID != "" {
		req.Header.Set("Mesos-Stream-Id", streamID)
	}
	return client.Do(req)
}

func readHTTPError(resp *http.Response) error {
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return &HTTPError{Code: resp.StatusCode, Message: strings.TrimSpace(string(msg))}
}
