package simagent

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Fleet is a set of running simulated agents.
type Fleet struct {
	cfg     Config
	masters []string // cfg.Master, split
	agents  []*simAgent
	client  *http.Client // status updates, shared by every agent
	streams *http.Client // event streams, when they share HTTP/2 connections
	sends   *sendQueue
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	uuids   atomic.Uint64
	nextSrc atomic.Uint64
	stats   counters
}

// Stats counts what a fleet has done since it started.
type Stats struct {
	// Subscribed is how many agents hold a subscription now.
	Subscribed int64
	// Subscriptions counts SUBSCRIBED events, re-subscriptions included.
	Subscriptions int64
	// Launched counts tasks received in LAUNCH events.
	Launched int64
	// Running is how many tasks run now (launched, not yet terminal).
	Running int64
	// Finished, Killed count tasks that ended so.
	Finished int64
	Killed   int64
	// UpdatesSent counts status update calls the master answered 202;
	// Retries counts those that were sends again of an unacknowledged
	// update; SendErrors counts calls that failed.
	UpdatesSent int64
	Retries     int64
	SendErrors  int64
	// StreamErrors counts event streams that ended, or could not be
	// opened (a master unreachable, a 503, a standby's 307), other than
	// at Close.
	StreamErrors int64
	// Acknowledged counts ACKNOWLEDGED events that matched an update in
	// flight.
	Acknowledged int64
	// Unacknowledged is how many updates wait for acknowledgement now.
	Unacknowledged int64
}

type counters struct {
	subscribed, subscriptions, launched, running, finished, killed atomic.Int64
	sent, retries, sendErrors, acked, unacked, streamErrors        atomic.Int64
}

// Start starts cfg.Agents agents and returns once every one of them has
// subscribed, or with an error when ctx ends first or cfg is invalid.
// The agents run until Close, or until ctx ends.
func Start(ctx context.Context, cfg Config) (*Fleet, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	fctx, cancel := context.WithCancel(context.Background())
	tr := &http.Transport{
		MaxIdleConns:        cfg.Senders,
		MaxIdleConnsPerHost: cfg.Senders,
		IdleConnTimeout:     time.Minute,
	}
	if cfg.HTTP2 {
		tr.Protocols = new(http.Protocols)
		tr.Protocols.SetUnencryptedHTTP2(true)
	}
	f := &Fleet{
		cfg:     cfg,
		masters: cfg.masters(),
		client:  &http.Client{Transport: tr, Timeout: time.Minute},
		streams: &http.Client{Transport: tr},
		sends:   newSendQueue(),
		ctx:     fctx,
		cancel:  cancel,
	}
	for i := range cfg.Agents {
		f.agents = append(f.agents, newSimAgent(f, i))
	}
	for range cfg.Senders {
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			f.sender()
		}()
	}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		f.retryLoop()
	}()
	if err := f.startAgents(ctx); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// startAgents starts every agent's session, at most cfg.Dialers
// subscribing at once, and waits until all have subscribed.
func (f *Fleet) startAgents(ctx context.Context) error {
	gate := make(chan struct{}, f.cfg.Dialers)
	for _, a := range f.agents {
		select {
		case gate <- struct{}{}:
		case <-ctx.Done():
			return fmt.Errorf("start simulated agents: %d of %d subscribed: %w", f.stats.subscribed.Load(), len(f.agents), ctx.Err())
		case <-f.ctx.Done():
			return errors.New("start simulated agents: fleet closed")
		}
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			a.run(f.ctx, func() { <-gate })
		}()
	}
	for {
		if n := f.stats.subscribed.Load(); n == int64(len(f.agents)) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("start simulated agents: %d of %d subscribed: %w", f.stats.subscribed.Load(), len(f.agents), ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// Close stops every agent, closing its stream as a crashed agent's would
// close, and waits for the fleet's goroutines. It is idempotent.
func (f *Fleet) Close() {
	f.cancel()
	f.sends.close()
	for _, a := range f.agents {
		a.closeConn()
	}
	f.wg.Wait()
	f.client.CloseIdleConnections()
}

// AgentIDs returns the IDs the master gave the agents, in agent order;
// an agent not subscribed yet has "".
func (f *Fleet) AgentIDs() []string {
	ids := make([]string, len(f.agents))
	for i, a := range f.agents {
		ids[i] = a.agentID()
	}
	return ids
}

// SubscribedSince counts the agents subscribed now on a subscription that
// began after t: after the leader's death at t, every agent has
// re-registered with the new leader once it equals the fleet's size.
func (f *Fleet) SubscribedSince(t time.Time) int {
	n := 0
	for _, a := range f.agents {
		a.mu.Lock()
		if a.streamID != "" && a.since.After(t) {
			n++
		}
		a.mu.Unlock()
	}
	return n
}

// Stats returns the fleet's counters.
func (f *Fleet) Stats() Stats {
	c := &f.stats
	return Stats{
		Subscribed: c.subscribed.Load(), Subscriptions: c.subscriptions.Load(),
		Launched: c.launched.Load(), Running: c.running.Load(),
		Finished: c.finished.Load(), Killed: c.killed.Load(),
		UpdatesSent: c.sent.Load(), Retries: c.retries.Load(), SendErrors: c.sendErrors.Load(), StreamErrors: c.streamErrors.Load(),
		Acknowledged: c.acked.Load(), Unacknowledged: c.unacked.Load(),
	}
}

// newUUID returns a fleet-unique 16-byte update UUID: cheaper than
// random ones, and unique is all the protocol asks.
func (f *Fleet) newUUID() []byte {
	b := make([]byte, 16)
	binary.BigEndian.PutUint64(b, 0x6d657a7a6f2d7369) // "mezzo-si"
	binary.BigEndian.PutUint64(b[8:], f.uuids.Add(1))
	return b
}

// dialer returns the dialer for the next stream, bound to the next
// source address when there are several.
func (f *Fleet) dialer() *net.Dialer {
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: -1}
	if n := len(f.cfg.SourceAddrs); n > 0 {
		ip := net.ParseIP(f.cfg.SourceAddrs[f.nextSrc.Add(1)%uint64(n)])
		d.LocalAddr = &net.TCPAddr{IP: ip}
	}
	return d
}

// retryLoop sends again the updates that waited too long for their
// acknowledgement.
func (f *Fleet) retryLoop() {
	tick := time.NewTicker(max(f.cfg.UpdateRetry/4, 10*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-f.ctx.Done():
			return
		case now := <-tick.C:
			for _, a := range f.agents {
				a.retryDue(now)
			}
		}
	}
}
