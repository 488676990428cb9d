//go:build linux

package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
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
	// A master of an earlier run left there would wait for its old
	// address to win an election.
	if err := os.RemoveAll(filepath.Join(dir, "master")); err != nil {
		return fmt.Errorf("clear the last run's master: %w", err)
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
	// Long enough for the master's header timeout (10 s) to close the
	// slow-header clients, which then connect again.
	span := time.Duration(s.n(30, 15)) * time.Second
	s.prog.set("s: warming up")
	if _, err := ordinaryRequests(ctx, c.addr, fw, 2*time.Second); err != nil {
		return err
	}
	s.prog.set("s: ordinary requests, master alone")
	alone, err := ordinaryRequests(ctx, c.addr, fw, span)
	if err != nil {
		return err
	}
	n := 1000
	s.prog.set("s: connecting %d slow clients", n)
	slow, err := startSlowProcess(ctx, c.addr, n)
	if err != nil {
		return err
	}
	defer slow.stop()
	s.prog.set("s: ordinary requests beside %d slow clients", n)
	loaded, err := ordinaryRequests(ctx, c.addr, fw, span)
	if err != nil {
		return err
	}
	summary, err := slow.stop()
	if err != nil {
		return err
	}
	p99a, p99b := ms(percentile(alone, 99)), ms(percentile(loaded, 99))
	ratio := p99b / p99a
	note := fmt.Sprintf("%d and %d requests over %v each, one at a time, a round of GET_HEALTH, GET_FRAMEWORKS, GET_AGENTS and RECONCILE every %v; p50 %.2f → %.2f ms",
		len(alone), len(loaded), span, roundEvery, ms(percentile(alone, 50)), ms(percentile(loaded, 50)))
	tail := func(ds []time.Duration) string {
		return fmt.Sprintf("p99.9 %.2f ms, max %.2f ms", ms(percentile(ds, 99.9)), ms(percentile(ds, 100)))
	}
	s.rep.add(Row{Item: "s", Measure: "ordinary request p99, master alone", Value: p99a, Unit: "ms", Target: "-", Note: note + "; " + tail(alone)})
	s.rep.add(Row{Item: "s", Measure: fmt.Sprintf("ordinary request p99, %d slow clients", n), Value: p99b, Unit: "ms", Target: "-",
		Note: summary + "; " + tail(loaded)})
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

// roundEvery paces the ordinary requests: a steady trickle, as a
// framework and a dashboard make them, not a flood that would measure
// the master's throughput instead.
const roundEvery = 5 * time.Millisecond

// ordinaryRequests makes rounds of the four ordinary requests, one at a
// time, a round every roundEvery for span, and returns each request's
// latency.
func ordinaryRequests(ctx context.Context, addr string, fw *scheduler.Client, span time.Duration) ([]time.Duration, error) {
	op := operator.New(addr)
	reqs := []func() error{
		func() error { _, err := op.Call(ctx, &api.OperatorCall{Type: api.OperatorGetHealth}); return err },
		func() error { _, err := op.Frameworks(ctx); return err },
		func() error { _, err := op.Agents(ctx); return err },
		func() error { return fw.Reconcile(ctx) },
	}
	var out []time.Duration
	tick := time.NewTicker(roundEvery)
	defer tick.Stop()
	for end := time.Now().Add(span); time.Now().Before(end); {
		for i, req := range reqs {
			start := time.Now()
			if err := req(); err != nil {
				return nil, fmt.Errorf("ordinary request %d: %w", i, err)
			}
			out = append(out, time.Since(start))
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return out, nil
}

// slowClients are connections that hold a master's resources as long as
// it lets them, in three kinds, a third each: slow headers (a request
// line, then one header byte a second), slow bodies (complete headers of
// a 64 KiB JSON call to the operator or the scheduler API, then one body
// byte a second) and idle streams
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
	bodies    atomic.Int64 // slow bodies begun, to spread them over two APIs
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
		path := "/api/v1"
		if sc.bodies.Add(1)%2 == 0 {
			path = "/api/v1/scheduler" // half on each API
		}
		head := "POST " + path + " HTTP/1.1\r\nHost: " + sc.addr + "\r\nContent-Type: application/json\r\nContent-Length: 65536\r\n\r\n{"
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
	return fmt.Sprintf("%d slow clients, a third each slow headers, slow bodies (a byte a second) and idle operator streams; %d reconnections during the run, from a process of their own",
		sc.n, sc.redials.Load())
}

func (sc *slowClients) stop() {
	sc.cancel()
	sc.wg.Wait()
}

// slowChildEnv, set to "ADDR N" in its environment, makes the bench
// binary a process of N slow clients of the master at ADDR (see main):
// the slow clients then do not share the measuring client's Go runtime
// (its scheduler, its garbage collector), only the machine, as an
// attacker elsewhere would. It prints "connected" once all are, and a
// summary when its stdin closes.
const slowChildEnv = "MEZZO_BENCH_SLOW_CLIENTS"

// runSlowChild is the slow-client process; it returns the exit code.
func runSlowChild(spec string) int {
	var addr string
	var n int
	if _, err := fmt.Sscanf(spec, "%s %d", &addr, &n); err != nil || n <= 0 {
		fmt.Fprintf(os.Stderr, "%s=%q: want ADDR N\n", slowChildEnv, spec)
		return 2
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sc := startSlowClients(ctx, addr, n)
	if err := sc.waitConnected(ctx, time.Minute); err != nil {
		fmt.Println("error:", err)
		return 1
	}
	fmt.Println("connected")
	_, _ = io.Copy(io.Discard, os.Stdin) // until the parent closes it
	sc.stop()
	if err := sc.err(); err != nil {
		fmt.Println("error:", err)
		return 1
	}
	fmt.Println(sc.describe())
	return 0
}

// slowProcess is a running slow-client process.
type slowProcess struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Scanner
	done  bool
}

// startSlowProcess starts n slow clients of addr in a process of their
// own and returns once they are all connected.
func startSlowProcess(ctx context.Context, addr string, n int) (*slowProcess, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("slow clients: find the bench binary: %w", err)
	}
	cmd := exec.CommandContext(ctx, self)
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %d", slowChildEnv, addr, n))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("slow clients: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("slow clients: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("slow clients: %w", err)
	}
	p := &slowProcess{cmd: cmd, stdin: stdin, out: bufio.NewScanner(stdout)}
	if !p.out.Scan() || p.out.Text() != "connected" {
		_, err := p.stop()
		return nil, fmt.Errorf("slow clients did not connect: %q (%v)", p.out.Text(), err)
	}
	return p, nil
}

// stop ends the slow clients and returns their summary; later calls do
// nothing.
func (p *slowProcess) stop() (string, error) {
	if p.done {
		return "", nil
	}
	p.done = true
	p.stdin.Close()
	var last string
	for p.out.Scan() {
		last = p.out.Text()
	}
	err := p.cmd.Wait()
	if msg, ok := strings.CutPrefix(last, "error: "); ok {
		return "", fmt.Errorf("slow clients: %s", msg)
	}
	if err != nil {
		return "", fmt.Errorf("slow clients: %w", err)
	}
	return last, nil
}
