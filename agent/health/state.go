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

// Standing is what a health check has established about its task. The
// caller keeps the one each report carries and hands it back to Start, so
// that checking resumes where it was — after an agent restart, say —
// rather than beginning again with a fresh grace period, no failures
// counted and a first report that repeats the last. Its JSON is how the
// agent keeps it in agent.db.
type Standing struct {
	// Since is when checking began; the grace period counts from it.
	Since time.Time `json:"since"`
	// Succeeded is set once a check has passed: the grace period is over.
	Succeeded bool `json:"succeeded,omitempty"`
	// Failures is the consecutive failures counted (outside the grace
	// period) as of the last report; failures after it, which repeat an
	// unhealthy verdict, are not reported, and so not kept.
	Failures int `json:"failures,omitempty"`
	// Reported is set once a report has been made; Healthy is the health
	// it gave last.
	Reported bool `json:"reported,omitempty"`
	Healthy  bool `json:"healthy,omitempty"`
	// Killed is set once a report has asked for the task's kill.
	Killed bool `json:"killed,omitempty"`
}

// healthState is Mesos's HealthCheckerProcess as a state machine: it
// reports the first result and every change of health, and asks for a
// kill once, after too many consecutive failures outside the grace period.
type healthState struct {
	grace       time.Duration
	maxFailures uint64
	at          Standing
}

func (s *healthState) observe(o outcome, now time.Time) (Result, bool) {
	var r Result
	var report bool
	if o.ok {
		r, report = s.pass(o)
	} else {
		r, report = s.fail(o, now)
	}
	r.Standing = s.at
	return r, report
}

func (s *healthState) pass(o outcome) (Result, bool) {
	at := &s.at
	at.Succeeded = true
	at.Failures = 0
	if at.Reported && at.Healthy {
		return Result{}, false
	}
	at.Reported, at.Healthy = true, true
	return Result{Healthy: true, Message: o.msg}, true
}

func (s *healthState) fail(o outcome, now time.Time) (Result, bool) {
	at := &s.at
	// As in Mesos, a grace period of zero means none, and it ends at the
	// first success even if time remains.
	if !at.Succeeded && s.grace > 0 && now.Sub(at.Since) <= s.grace {
		return Result{}, false
	}
	at.Failures++
	kill := !at.Killed && uint64(at.Failures) >= s.maxFailures
	if !kill && at.Reported && !at.Healthy {
		return Result{}, false
	}
	at.Killed = at.Killed || kill
	at.Reported, at.Healthy = true, false
	return Result{Consecutive: at.Failures, Message: o.msg, Kill: kill}, true
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

// resumeCheck is the checkState of a check whose last report was
// check_status last, nil for none: the first report after it is one that
// differs from it.
func resumeCheck(typ string, last *api.CheckStatusInfo) *checkState {
	s := &checkState{typ: typ}
	if last == nil || last.Type != typ {
		return s
	}
	s.reported = true
	switch {
	case last.Command != nil && last.Command.ExitCode != nil:
		s.last = result{known: true, value: int64(*last.Command.ExitCode)}
	case last.HTTP != nil && last.HTTP.StatusCode != nil:
		s.last = result{known: true, value: int64(*last.HTTP.StatusCode)}
	case last.TCP != nil && last.TCP.Succeeded != nil:
		s.last = result{known: true}
		if *last.TCP.Succeeded {
			s.last.value = 1
		}
	}
	return s
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
