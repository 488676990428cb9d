package health

import (
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

func TestHealthState(t *testing.T) {
	type step struct {
		ok     bool
		at     time.Duration // since start
		report *Result       // nil: no report
	}
	healthy := &Result{Healthy: true}
	unhealthy := func(n int) *Result { return &Result{Consecutive: n} }
	kill := func(n int) *Result { return &Result{Consecutive: n, Kill: true} }
	start := time.Unix(1000, 0)
	tests := []struct {
		name  string
		grace time.Duration
		max   uint64
		from  Standing // where an earlier checker left off; Since zero: start
		steps []step
		last  *Standing // the Standing of the last report, when checked
	}{
		{name: "first success is reported", max: 3, steps: []step{
			{ok: true, report: healthy}, {ok: true}, {ok: true},
		}},
		{name: "first failure is reported, then the kill once", max: 3, steps: []step{
			{report: unhealthy(1)}, {}, {report: kill(3)}, {}, {},
		}},
		{name: "each transition once", max: 10, steps: []step{
			{ok: true, report: healthy}, {report: unhealthy(1)}, {},
			{ok: true, report: healthy}, {ok: true}, {report: unhealthy(1)},
		}},
		{name: "a success resets the count", max: 2, steps: []step{
			{report: unhealthy(1)}, {ok: true, report: healthy},
			{report: unhealthy(1)}, {report: kill(2)},
		}},
		{name: "kill only once even after recovering", max: 1, steps: []step{
			{report: kill(1)}, {ok: true, report: healthy}, {report: unhealthy(1)},
		}},
		{name: "zero failures allowed kills at the first counted failure", max: 0, steps: []step{
			{ok: true, report: healthy}, {report: kill(1)},
		}},
		{name: "grace ignores failures until it ends", grace: 10 * time.Second, max: 1, steps: []step{
			{at: time.Second}, {at: 10 * time.Second}, {at: 11 * time.Second, report: kill(1)},
		}},
		{name: "grace ends at the first success", grace: time.Minute, max: 2, steps: []step{
			{at: time.Second}, {at: 2 * time.Second, ok: true, report: healthy},
			{at: 3 * time.Second, report: unhealthy(1)}, {at: 4 * time.Second, report: kill(2)},
		}, last: &Standing{Since: start, Succeeded: true, Failures: 2, Reported: true, Killed: true}},
		{name: "the standing counts what was reported", grace: time.Minute, max: 5, steps: []step{
			{at: time.Second, ok: true, report: healthy}, {at: 2 * time.Second, report: unhealthy(1)}, {at: 3 * time.Second},
		}, last: &Standing{Since: start, Succeeded: true, Failures: 1, Reported: true}},
		// Resumed where an earlier checker left off (an agent restart).
		{name: "resumed healthy: no grace again, no report again", grace: time.Minute, max: 2,
			from: Standing{Since: start.Add(-time.Hour), Succeeded: true, Reported: true, Healthy: true}, steps: []step{
				{ok: true}, {at: time.Second, report: unhealthy(1)}, {at: 2 * time.Second, report: kill(2)},
			}},
		{name: "resumed unhealthy: the count goes on", grace: time.Minute, max: 3,
			from: Standing{Since: start.Add(-time.Hour), Succeeded: true, Failures: 2, Reported: true}, steps: []step{
				{report: kill(3)},
			}},
		{name: "resumed within its grace period: it ends when it would have", grace: 10 * time.Second, max: 1,
			from: Standing{Since: start.Add(-9 * time.Second)}, steps: []step{
				{at: 0}, {at: 2 * time.Second, report: kill(1)},
			}},
		{name: "resumed after its kill: none again", max: 1,
			from: Standing{Since: start, Succeeded: true, Failures: 1, Reported: true, Killed: true}, steps: []step{
				{}, {ok: true, report: healthy}, {report: unhealthy(1)},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			from := tt.from
			if from.Since.IsZero() {
				from.Since = start
			}
			s := &healthState{grace: tt.grace, maxFailures: tt.max, at: from}
			var last *Standing
			for i, st := range tt.steps {
				r, ok := s.observe(outcome{ok: st.ok}, start.Add(st.at))
				if ok {
					kept := r.Standing
					last = &kept
				}
				r.Standing = Standing{}
				switch {
				case st.report == nil && ok:
					t.Fatalf("step %d: unexpected report %+v", i, r)
				case st.report != nil && !ok:
					t.Fatalf("step %d: no report, want %+v", i, *st.report)
				case st.report != nil && r != *st.report:
					t.Fatalf("step %d: report %+v, want %+v", i, r, *st.report)
				}
			}
			if tt.last != nil && (last == nil || *last != *tt.last) {
				t.Errorf("last report's standing %+v, want %+v", last, *tt.last)
			}
		})
	}
}

// TestResumeCheck checks that a general check resumed after an earlier
// checker's last check_status (an agent restart) reports first a status
// that differs from it, not the same one again.
func TestResumeCheck(t *testing.T) {
	code := func(c int64) outcome { return outcome{ok: c == 0, result: result{known: true, value: c}} }
	tcp := func(ok bool) outcome {
		o := outcome{ok: ok, result: result{known: true}}
		if ok {
			o.value = 1
		}
		return o
	}
	tests := []struct {
		name   string
		typ    string
		last   *api.CheckStatusInfo
		o      outcome
		report bool
	}{
		{"no last status", api.CheckTypeCommand, nil, code(1), true},
		{"same exit code", api.CheckTypeCommand, checkStatus(api.CheckTypeCommand, code(1).result), code(1), false},
		{"other exit code", api.CheckTypeCommand, checkStatus(api.CheckTypeCommand, code(1).result), code(0), true},
		{"same HTTP status", api.CheckTypeHTTP, checkStatus(api.CheckTypeHTTP, code(503).result), code(503), false},
		{"other HTTP status", api.CheckTypeHTTP, checkStatus(api.CheckTypeHTTP, code(503).result), code(200), true},
		{"TCP still refused", api.CheckTypeTCP, checkStatus(api.CheckTypeTCP, tcp(false).result), tcp(false), false},
		{"TCP now open", api.CheckTypeTCP, checkStatus(api.CheckTypeTCP, tcp(false).result), tcp(true), true},
		{"still unknown (timed out)", api.CheckTypeHTTP, checkStatus(api.CheckTypeHTTP, result{}), outcome{}, false},
		{"now known", api.CheckTypeHTTP, checkStatus(api.CheckTypeHTTP, result{}), code(200), true},
		{"another type's status", api.CheckTypeHTTP, checkStatus(api.CheckTypeTCP, tcp(false).result), code(503), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, ok := resumeCheck(tt.typ, tt.last).observe(tt.o, time.Time{}); ok != tt.report {
				t.Errorf("reported %v, want %v", ok, tt.report)
			}
		})
	}
}

func TestCheckStateReportsChanges(t *testing.T) {
	s := &checkState{typ: api.CheckTypeCommand}
	code := func(c int64) outcome { return outcome{ok: c == 0, result: result{known: true, value: c}} }
	steps := []struct {
		o      outcome
		report bool
	}{
		{code(1), true}, {code(1), false}, {code(2), true}, {outcome{}, true},
		{outcome{}, false}, {code(0), true}, {code(0), false},
	}
	for i, st := range steps {
		r, ok := s.observe(st.o, time.Time{})
		if ok != st.report {
			t.Fatalf("step %d: reported %v, want %v", i, ok, st.report)
		}
		if r.Kill {
			t.Fatalf("step %d: a general check asked for a kill", i)
		}
		if ok && (r.Check == nil || r.Check.Command == nil || (r.Check.Command.ExitCode != nil) != st.o.known) {
			t.Fatalf("step %d: check status %+v does not match %+v", i, r.Check, st.o)
		}
	}
}
