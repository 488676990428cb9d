package health

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/sandbox"
)

// Target is where a check looks: the task's address and, for COMMAND
// checks, its sandbox and environment.
type Target struct {
	// Host is the host HTTP and TCP checks connect to. Empty means the
	// loopback address, 127.0.0.1 (or ::1 for protocol IPv6), as in Mesos.
	Host string
	// Dir is the working directory of COMMAND checks, normally the task's
	// sandbox. Empty means the agent's working directory.
	Dir string
	// Env is the environment of COMMAND checks, normally the task's; the
	// command's own variables are laid over it. Nothing is inherited from
	// the agent, so Env should carry PATH.
	Env map[string]string
	// User, when set, is who COMMAND checks run as (its uid, gid and
	// groups), normally the task's user; nil runs them as the caller,
	// which for an agent running as root would be root.
	User *sandbox.User
	// Start, when set, starts the process of each COMMAND check: the
	// agent starts them in the cgroup of the task's executor, so that
	// their memory counts as the task's, and what a check leaves behind
	// (a child that left its process group) ends with the executor at the
	// latest. Nil starts them with cmd.Start, in the caller's cgroup.
	Start func(cmd *exec.Cmd) error
}

// Result is one report of a checker: a change of health, the kill
// request, or, for a general check, a new check_status.
type Result struct {
	// Healthy is the verdict of the latest check: for TaskStatus.healthy.
	Healthy bool
	// Consecutive is the number of consecutive failures counted so far:
	// zero when Healthy, and failures within the grace period do not count.
	Consecutive int
	// Message says what the latest check found, for TaskStatus.message.
	Message string
	// Kill is set, in one report only, when a health check has failed
	// consecutive_failures times in a row outside the grace period. The
	// caller should kill the task with its kill policy, as Mesos's
	// executors do. Kill is never set for general checks.
	Kill bool
	// Check is the new check_status of a general check (StartCheck); nil
	// for health checks. The report owns it.
	Check *api.CheckStatusInfo
	// Standing is where a health check stands after this report, to keep
	// and pass to Start should checking have to begin again; zero for
	// general checks.
	Standing Standing
}

// Reason is the status update reason for the report:
// REASON_TASK_CHECK_STATUS_UPDATED for a general check,
// REASON_TASK_HEALTH_CHECK_STATUS_UPDATED for a health check.
func (r Result) Reason() api.StatusReason {
	if r.Check != nil {
		return api.ReasonTaskCheckStatusUpdated
	}
	return api.ReasonTaskHealthCheckStatusUpdated
}

// Checker runs one check on its own goroutine until Stop is called or the
// context given to Start ends. Its methods are safe for concurrent use.
type Checker struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// Start validates hc (see Validate) and starts checking t in a new
// goroutine: the first check after hc's delay, the next ones an interval
// after the previous ends. report is called from that goroutine with the
// first result, every change of health, and once with Kill set; it must
// not block for long, and must not call Stop on this Checker. Checking
// goes on after Kill until Stop or the end of ctx.
//
// from is where an earlier checker of the same task left off (the
// Standing of its last report): the grace period counts from its Since,
// the first report is one that differs from its last, and no second kill
// is asked for. A zero from begins afresh, now.
func Start(ctx context.Context, hc *api.HealthCheck, t Target, from Standing, report func(Result)) (*Checker, error) {
	tm, err := api.HealthCheckSchedule(hc)
	if err != nil {
		return nil, err
	}
	if report == nil {
		return nil, errors.New("health check: report must not be nil")
	}
	var p prober
	switch hc.Type {
	case api.CheckTypeCommand:
		p = newCommandProbe(hc.Command, t, tm.Timeout)
	case api.CheckTypeHTTP:
		p = newHTTPProbe(healthURL(hc.HTTP, t), uint64s(hc.HTTP.Statuses), tm.Timeout)
	default:
		p = &tcpProbe{addr: hostPort(t, hc.TCP.Protocol, uint64(hc.TCP.Port)), timeout: tm.Timeout}
	}
	if from.Since.IsZero() {
		from.Since = time.Now()
	}
	obs := &healthState{grace: tm.Grace, maxFailures: tm.Failures, at: from}
	return start(ctx, p, obs, tm, report), nil
}

// StartCheck validates c (see ValidateCheck) and starts a general check
// of t, as Start does. report is called with the first result and with
// every result whose check_status differs from the last reported; Kill is
// never set, whatever the results. last is the check_status an earlier
// checker of the same task last reported, nil for none: the first report
// is then one that differs from it, as if that checker had gone on.
func StartCheck(ctx context.Context, c *api.CheckInfo, t Target, last *api.CheckStatusInfo, report func(Result)) (*Checker, error) {
	tm, err := api.CheckInfoSchedule(c)
	if err != nil {
		return nil, err
	}
	if report == nil {
		return nil, errors.New("check: report must not be nil")
	}
	var p prober
	switch c.Type {
	case api.CheckTypeCommand:
		p = newCommandProbe(&c.Command.Command, t, tm.Timeout)
	case api.CheckTypeHTTP:
		url := "http://" + hostPort(t, c.HTTP.Protocol, uint64(c.HTTP.Port)) + c.HTTP.Path
		p = newHTTPProbe(url, nil, tm.Timeout)
	default:
		p = &tcpProbe{addr: hostPort(t, c.TCP.Protocol, uint64(c.TCP.Port)), timeout: tm.Timeout}
	}
	return start(ctx, p, resumeCheck(c.Type, last), tm, report), nil
}

// Stop stops checking and waits until the checker's goroutine has
// returned, killing the process group of a COMMAND check in progress. No
// report is made after Stop returns. Stop may be called more than once,
// but not from report.
func (c *Checker) Stop() {
	c.cancel()
	<-c.done
}

func start(ctx context.Context, p prober, obs observer, tm api.CheckSchedule, report func(Result)) *Checker {
	ctx, cancel := context.WithCancel(ctx)
	c := &Checker{cancel: cancel, done: make(chan struct{})}
	go c.run(ctx, p, obs, tm, report)
	return c
}

// run is the checker's goroutine.
func (c *Checker) run(ctx context.Context, p prober, obs observer, tm api.CheckSchedule, report func(Result)) {
	defer close(c.done)
	if !sleep(ctx, tm.Delay) {
		return
	}
	for {
		o := p.probe(ctx)
		if ctx.Err() != nil {
			return // stopped: the check was cut short, its result means nothing
		}
		if r, ok := obs.observe(o, time.Now()); ok {
			report(r)
		}
		if !sleep(ctx, tm.Interval) {
			return
		}
	}
}

// sleep waits for d and reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func healthURL(h *api.HTTPCheckInfo, t Target) string {
	scheme := h.Scheme
	if scheme == "" {
		scheme = "http"
	}
	return fmt.Sprintf("%s://%s%s", scheme, hostPort(t, h.Protocol, uint64(h.Port)), h.Path)
}

func uint64s(v []api.Uint64) []uint64 {
	out := make([]uint64, len(v))
	for i, x := range v {
		out[i] = uint64(x)
	}
	return out
}
