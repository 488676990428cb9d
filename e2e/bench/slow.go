package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/sdk/operator"
	"github.com/mezzo-cluster/mezzo/sdk/scheduler"
)

// itemSlowClients measures issue #8's limit (item s): "a thousand slow
// clients must not raise the p99 latency of ordinary requests by more
// than 2×". On a real master alone, with a framework subscribed, it times
// ordinary requests — operator GET_HEALTH, GET_FRAMEWORKS and GET_AGENTS
// and a scheduler RECONCILE, one at a time — then opens 1,000 slow
// clients (slowClients) and, once every one is connected, times the same
// requests again.
func (s *suite) itemSlowClients(ctx context.Context) error {
	dir, err := s.itemDir("slow-clients")
	if err != nil {
		return err
	}
	c, err := startCluster(ctx, s.bin, clusterOptions{dir: dir, masterArgs: s.profileArgs(dir, "master")})
	if err != nil {
		return err
	}
	defer c.stop()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	fw, err := subscribeFramework(ctx, c.addr)
	if err != nil {
		return err
	}
	rounds := s.n(1000, 250)
	s.prog.set("s: ordinary requests, master alone")
	alone, err := ordinaryRequests(ctx, c.addr, fw, rounds)
	if err != nil {
		return err
	}
	n := 1000
	slow := startSlowClients(ctx, c.addr, n)
	defer slow.stop()
	s.prog.set("s: connecting %d slow clients", n)
	if err := slow.waitConnected(ctx, time.Minute); err != nil {
		return err
	}
	s.prog.set("s: ordinary requests beside %d slow clients", n)
	loaded, err := ordinaryRequests(ctx, c.addr, fw, rounds)
	if err != nil {
		return err
	}
	if err := slow.err(); err != nil {
		return err
	}
	p99a, p99b := ms(percentile(alone, 99)), ms(percentile(loaded, 99))
	ratio := p99b / p99a
	note := fmt.Sprintf("%d requests one at a time (GET_HEALTH, GET_FRAMEWORKS, GET_AGENTS, RECONCILE); p50 %.2f → %.2f ms",
		len(alone), ms(percentile(alone, 50)), ms(percentile(loaded, 50)))
	s.rep.samples("s/alone", alone)
	s.rep.samples("s/slow-clients", loaded)
	s.rep.add(Row{Item: "s", Measure: "ordinary request p99, master alone", Value: p99a, Unit: "ms", Target: "-", Note: note})
	s.rep.add(Row{Item: "s", Measure: fmt.Sprintf("ordinary request p99, %d slow clients", n), Value: p99b, Unit: "ms", Target: "-",
		Note: slow.describe()})
	s.rep.add(Row{Item: "s", Measure: "p99 ratio, slow clients / alone", Value: ratio, Unit: "×", Target: "≤ 2×", Met: atMost(ratio, 2)})
	s.prog.done("s: p99 %.2f ms alone, %.2f ms beside %d slow clients: %.2f×", p99a, p99b, n, ratio)
	return nil
}

// subscribeFramework subscribes a framework through the SDK, for the
// RECONCILE calls, and returns its client once SUBSCRIBED has arrived.
func subscribeFramework(ctx context.Context, addr string) (*scheduler.Client, error) {
	client := scheduler.New(scheduler.Config{Master: addr, Framework: api.FrameworkInfo{Name: "slow-clients"}})
	subscribed := make(chan struct{})
	var once sync.Once
	go client.Run(ctx, func(ctx context.Context, ev *api.Event) error {
		if ev.Type == api.EventSubscribed {
			once.Do(func() { close(subscribed) })
		}
		return nil
	})
	select {
	case <-subscribed:
		return client, nil
	case <-time.After(30 * time.Second):
		return nil, errors.New("the framework did not subscribe within 30s")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// ordinaryRequests makes rounds of the four ordinary requests, one at a
// time, and returns each one's latency.
func ordinaryRequests(ctx context.Context, addr string, fw *scheduler.Client, rounds int) ([]time.Duration, error) {
	op := operator.New(addr)
	reqs := []func() error{
		func() error { _, err := op.Call(ctx, &api.OperatorCall{Type: api.OperatorGetHealth}); return err },
		func() error { _, err := op.Frameworks(ctx); return err },
		func() error { _, err := op.Agents(ctx); return err },
		func() error { return fw.Reconcile(ctx) },
	}
	out := make([]time.Duration, 0, rounds*len(reqs))
	for range rounds {
		for i, req := range reqs {
			start := time.Now()
			if err := req(); err != nil {
				return nil, fmt.Errorf("ordinary request %d: %w", i, err)
			}
			out = append(out, time.Since(start))
		}
	}
	return out, nil
}

// slowClients are connections that hold a master's resources as long as
// it lets them, in three kinds, a third each: slow headers (a request
// line, then one header byte a second), slow bodies (complete headers of
// a 64 KiB JSON call, then one body byte a second) and idle streams
// (operator SUBSCRIBE streams, read but otherwise left alone). A
// connection the master closes is opened again at once, as an attacker
// would.
type slowClients struct {
	addr      string
	wg        sync.WaitGroup
	cancel    context.CancelFunc
	n         int
	connected atomic.Int64 // clients holding a connection now, first time counted once each
	redials   atomic.Int64 // connections the master closed and the client opened again
	firstErr  atomic.Pointer[error]
}

// slowDrip is how often a slow client sends its next byte.
const slowDrip = time.Second

func startSlowClients(ctx context.Context, addr string, n int) *slowClients {
	ctx, cancel := context.WithCancel(ctx)
	sc := &slowClients{addr: addr, cancel: cancel, n: n}
	for i := range n {
		sc.wg.Add(1)
		go func() {
			defer sc.wg.Done()
			sc.run(ctx, i%3)
		}()
		if i%50 == 49 {
			time.Sleep(10 * time.Millisecond) // not a SYN flood: the accept queue is not what is measured
		}
	}
	return sc
}

// run keeps one slow client of a kind (0 headers, 1 body, 2 stream)
// connected until ctx ends.
func (sc *slowClients) run(ctx context.Context, kind int) {
	first := true
	for ctx.Err() == nil {
		conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", sc.addr)
		if err != nil {
			if ctx.Err() == nil {
				sc.fail(fmt.Errorf("slow client: dial: %w", err))
				time.Sleep(slowDrip)
			}
			continue
		}
		stop := context.AfterFunc(ctx, func() { conn.Close() })
		err = sc.hold(conn, kind, func() {
			if first {
				sc.connected.Add(1)
				first = false
			}
		})
		stop()
		conn.Close()
		if ctx.Err() == nil {
			sc.redials.Add(1)
			if err != nil && !isClosed(err) {
				sc.fail(err)
			}
		}
	}
}

// hold sends one slow request on conn and keeps it going until the master
// or the harness closes it; established is called once it is under way.
func (sc *slowClients) hold(conn net.Conn, kind int, established func()) error {
	switch kind {
	case 0:
		if _, err := io.WriteString(conn, "POST /api/v1 HTTP/1.1\r\nHost: "+sc.addr+"\r\n"); err != nil {
			return err
		}
		established()
		return drip(conn, "X-Slow: "+strings.Repeat("a", 1<<20))
	case 1:
		head := "POST /api/v1 HTTP/1.1\r\nHost: " + sc.addr + "\r\nContent-Type: application/json\r\nContent-Length: 65536\r\n\r\n{"
		if _, err := io.WriteString(conn, head); err != nil {
			return err
		}
		established()
		return drip(conn, strings.Repeat(" ", 65535))
	default:
		body := `{"type":"SUBSCRIBE"}`
		req := fmt.Sprintf("POST /api/v1 HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nAccept: application/json\r\nContent-Length: %d\r\n\r\n%s", sc.addr, len(body), body)
		if _, err := io.WriteString(conn, req); err != nil {
			return err
		}
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return fmt.Errorf("slow client: SUBSCRIBE: %w", err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("slow client: SUBSCRIBE answered %s", resp.Status)
		}
		established()
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
}

// drip writes s a byte per slowDrip.
func drip(conn net.Conn, s string) error {
	for i := range len(s) {
		time.Sleep(slowDrip)
		if _, err := conn.Write([]byte{s[i]}); err != nil {
			return err
		}
	}
	return nil
}

func isClosed(err error) bool {
	return errors.Is(err, net.ErrClosed) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		strings.Contains(err.Error(), "connection reset") || strings.Contains(err.Error(), "broken pipe")
}

func (sc *slowClients) fail(err error) { sc.firstErr.CompareAndSwap(nil, &err) }

// err is the first unexpected error a slow client met, if any.
func (sc *slowClients) err() error {
	if p := sc.firstErr.Load(); p != nil {
		return *p
	}
	return nil
}

// waitConnected waits until every client has had its connection under
// way.
func (sc *slowClients) waitConnected(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for sc.connected.Load() < int64(sc.n) {
		if err := sc.err(); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d slow clients connected within %v", sc.connected.Load(), sc.n, limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}

func (sc *slowClients) describe() string {
	return fmt.Sprintf("%d slow clients, a third each slow headers, slow bodies (a byte a second) and idle operator streams; %d reconnections during the run; %d goroutines in the harness",
		sc.n, sc.redials.Load(), runtime.NumGoroutine())
}

func (sc *slowClients) stop() {
	sc.cancel()
	sc.wg.Wait()
}
