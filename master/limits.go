package master

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/mezzo-cluster/mezzo/api"
	"golang.org/x/time/rate"
)

// clientLimits bounds what one client may ask of the master: a request
// rate (a token bucket, x/time/rate) and a number of requests in flight,
// which is also how many event streams it may hold open. A client is its
// principal, or its address when the master runs without authentication.
type clientLimits struct {
	rate        rate.Limit
	burst       int
	maxInFlight int

	mu      sync.Mutex
	clients map[string]*clientState
	swept   time.Time
}

type clientState struct {
	bucket   *rate.Limiter
	inFlight int
	seen     time.Time
}

func newClientLimits(perSecond float64, maxInFlight int) *clientLimits {
	return &clientLimits{
		rate: rate.Limit(perSecond), burst: max(1, int(2*perSecond)), maxInFlight: maxInFlight,
		clients: map[string]*clientState{},
	}
}

// enter admits a request of client, or says why not; leave must follow
// an admitted request.
func (l *clientLimits) enter(client string, now time.Time) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	c := l.clients[client]
	if c == nil {
		c = &clientState{bucket: rate.NewLimiter(l.rate, l.burst)}
		l.clients[client] = c
	}
	c.seen = now
	if l.maxInFlight > 0 && c.inFlight >= l.maxInFlight {
		return fmt.Errorf("Too many requests: %d already in flight or streaming (the most one client may have)", c.inFlight)
	}
	if l.rate > 0 && !c.bucket.AllowN(now, 1) {
		return fmt.Errorf("Too many requests: more than %g per second", float64(l.rate))
	}
	c.inFlight++
	return nil
}

func (l *clientLimits) leave(client string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if c := l.clients[client]; c != nil {
		c.inFlight--
	}
}

// sweep forgets idle clients once a minute, so that a stream of
// addresses cannot grow the map without bound. l.mu must be held.
func (l *clientLimits) sweep(now time.Time) {
	if now.Sub(l.swept) < time.Minute {
		return
	}
	l.swept = now
	for k, c := range l.clients {
		if c.inFlight == 0 && now.Sub(c.seen) > time.Minute {
			delete(l.clients, k)
		}
	}
}

// limitClients answers 429 to a client past Config.RateLimit or
// Config.MaxInFlight, on the scheduler, operator, module and files APIs.
// Agents are not limited: their updates are what every task's progress
// rides on, and their number is bounded by register_agents.
func (m *Master) limitClients(next echo.HandlerFunc) echo.HandlerFunc {
	l := m.limits
	if l == nil {
		return next
	}
	return func(c echo.Context) error {
		path := strings.TrimPrefix(c.Path(), "/master")
		if path == "/api/v1/agent" || openPaths[path] {
			return next(c)
		}
		client := principalOf(c.Request().Context())
		if client == "" {
			client = "address " + c.RealIP()
		}
		if err := l.enter(client, time.Now()); err != nil {
			c.Response().Header().Set("Retry-After", "1")
			return echo.NewHTTPError(http.StatusTooManyRequests, err.Error())
		}
		call := &callInFlight{leave: sync.OnceFunc(func() { l.leave(client) })}
		req := c.Request()
		c.SetRequest(req.WithContext(context.WithValue(req.Context(), callInFlightKey{}, call)))
		err := next(c)
		if !call.outlives {
			call.leave()
		}
		return err
	}
}

// callInFlight is a limited call while it is in flight. An event stream
// outlives its handler (stream.serve hands the connection to a goroutine
// of its own), and stays in flight until it ends: it takes over leave.
type callInFlight struct {
	leave    func()
	outlives bool
}

type callInFlightKey struct{}

// outliveHandler tells the limit on calls in flight, if ctx's call is
// under one, that the call goes on after its handler returns, and returns
// what to call when it ends.
func outliveHandler(ctx context.Context) (end func()) {
	call, _ := ctx.Value(callInFlightKey{}).(*callInFlight)
	if call == nil {
		return func() {}
	}
	call.outlives = true
	return call.leave
}

// checkAcceptSize refuses an ACCEPT that launches more than
// Config.MaxTasksPerAccept tasks, before any of it is carried out.
func (m *Master) checkAcceptSize(call *api.Call) error {
	if call.Type != api.CallAccept || call.Accept == nil || m.cfg.MaxTasksPerAccept <= 0 {
		return nil
	}
	n := 0
	for _, op := range call.Accept.Operations {
		n += len(op.Tasks())
	}
	if n > m.cfg.MaxTasksPerAccept {
		return echo.NewHTTPError(http.StatusBadRequest, fmt.Sprintf(
			"ACCEPT launches %d tasks; at most %d may go in one call", n, m.cfg.MaxTasksPerAccept))
	}
	return nil
}
