package health

import (
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

// observer turns the outcome of each check into the reports to send. Its
// methods are called only from the checker's goroutine.
type observer interface {
	observe(o outcome, now time.Time) (Result, bool)
}

// healthState is Mesos's HealthCheckerProcess as a state machine: it
// reports the first result and every change of health, and asks for a
// kill once, after too many consecutive failures outside the grace period.
type healthState struct {
	started     time.Time
	grace       time.Duration
	maxFailures uint64

	succeeded bool // a check has passed since Start: the grace period is over
	failures  int  // consecutive failures counted (outside the grace period)
	reported  bool // a report has been sent
	healthy   bool // the health last reported
	killed    bool // Kill has been reported
}

func (s *healthState) observe(o outcome, now time.Time) (Result, bool) {
	if o.ok {
		return s.pass(o)
	}
	return s.fail(o, now)
}

func (s *healthState) pass(o outcome) (Result, bool) {
	s.succeeded = true
	s.failures = 0
	if s.reported && s.healthy {
		return Result{}, false
	}
	s.reported, s.healthy = true, true
	return Result{Healthy: true, Message: o.msg}, true
}

func (s *healthState) fail(o outcome, now time.Time) (Result, bool) {
	// As in Mesos, a grace period of zero means none, and it ends at the
	// first success even if time remains.
	if !s.succeeded && s.grace > 0 && now.Sub(s.started) <= s.grace {
		return Result{}, false
	}
	s.failures++
	kill := !s.killed && uint64(s.failures) >= s.maxFailures
	if !kill && s.reported && !s.healthy {
		return Result{}, false
	}
	s.killed = s.killed || kill
	s.reported, s.healthy = true, false
	return Result{Consecutive: s.failures, Message: o.msg, Kill: kill}, true
}

// checkState is Mesos's Checker for general checks: it reports the first
// check_status and every one that differs from the last reported.
type checkState struct {
	typ      string
	reported bool
	last     result
	failures int
}

func (s *checkState) observe(o outcome, _ time.Time) (Result, bool) {
	if o.ok {
		s.failures = 0
	} else {
		s.failures++
	}
	if s.reported && s.last == o.result {
		return Result{}, false
	}
	s.reported, s.last = true, o.result
	r := Result{Healthy: o.ok, Consecutive: s.failures, Message: o.msg}
	r.Check = checkStatus(s.typ, o.result)
	return r, true
}

// checkStatus is the check_status for a result: the exit code, HTTP status
// or connection success when known, only the type when the check could not
// tell (it timed out, or no HTTP response came), as in Mesos.
func checkStatus(typ string, r result) *api.CheckStatusInfo {
	c := &api.CheckStatusInfo{Type: typ}
	switch typ {
	case api.CheckTypeCommand:
		c.Command = &api.CheckStatusCommand{}
		if r.known {
			c.Command.ExitCode = api.Ptr(api.Int64(r.value))
		}
	case api.CheckTypeHTTP:
		c.HTTP = &api.CheckStatusHTTP{}
		if r.known {
			c.HTTP.StatusCode = api.Ptr(api.Uint64(r.value))
		}
	case api.CheckTypeTCP:
		c.TCP = &api.CheckStatusTCP{}
		if r.known {
			c.TCP.Succeeded = api.Ptr(r.value == 1)
		}
	}
	return c
}
