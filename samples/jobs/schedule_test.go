package main

import (
	"strings"
	"testing"
	"time"
)

func TestSchedules(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		spec  string
		after string
		want  []string // the next runs, in order; fewer means the schedule ends
	}{
		{"R3/2026-01-01T00:00:00Z/PT1H", "2025-12-31T00:00:00Z", []string{"2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z", "2026-01-01T02:00:00Z"}},
		{"R3/2026-01-01T00:00:00Z/PT1H", "2026-01-01T00:30:00Z", []string{"2026-01-01T01:00:00Z", "2026-01-01T02:00:00Z"}},
		{"R/2026-01-01T00:00:00Z/PT90S", "2026-01-01T00:00:00Z", []string{"2026-01-01T00:01:30Z", "2026-01-01T00:03:00Z", "2026-01-01T00:04:30Z"}},
		{"R0/2026-01-01T00:00:00Z/PT1H", "2025-01-01T00:00:00Z", nil},
		{"R2/2026-01-31T00:00:00Z/P1M", "2026-01-01T00:00:00Z", []string{"2026-01-31T00:00:00Z", "2026-03-03T00:00:00Z"}},
		{"R/2026-01-01T00:00:00Z/P1W", "2026-01-01T00:00:00Z", []string{"2026-01-08T00:00:00Z", "2026-01-15T00:00:00Z"}},
		{"R/2026-01-01T00:00:00Z/P1DT12H", "2026-01-01T00:00:00Z", []string{"2026-01-02T12:00:00Z", "2026-01-04T00:00:00Z"}},
		{"R/2026-01-01T00:00:00Z/PT0.5S", "2026-01-01T00:00:00Z", []string{"2026-01-01T00:00:00.5Z", "2026-01-01T00:00:01Z"}},
		{"*/15 * * * *", "2026-01-01T00:07:00Z", []string{"2026-01-01T00:15:00Z", "2026-01-01T00:30:00Z"}},
		{"*/2 * * * * *", "2026-01-01T00:00:00Z", []string{"2026-01-01T00:00:02Z", "2026-01-01T00:00:04Z"}},
		{"@daily", "2026-01-01T10:00:00Z", []string{"2026-01-02T00:00:00Z"}},
	}
	for _, tt := range tests {
		s, err := parseSchedule(tt.spec)
		if err != nil {
			t.Fatalf("%s: %v", tt.spec, err)
		}
		now := at(tt.after)
		for i, w := range tt.want {
			next, ok := s.next(now)
			if !ok || !next.Equal(at(w)) {
				t.Fatalf("%s after %s: run %d is %v (ok=%v), want %s", tt.spec, tt.after, i, next, ok, w)
			}
			now = next
		}
		if len(tt.want) < 3 && strings.HasPrefix(tt.spec, "R") && !strings.HasPrefix(tt.spec, "R/") {
			if next, ok := s.next(now); ok {
				t.Fatalf("%s: a run at %v after the last", tt.spec, next)
			}
		}
	}
}

func TestBadSchedules(t *testing.T) {
	for _, spec := range []string{
		"", "R", "R3/2026-01-01T00:00:00Z", "R-1/2026-01-01T00:00:00Z/PT1H", "Rx/2026-01-01T00:00:00Z/PT1H",
		"R/yesterday/PT1H", "R/2026-01-01T00:00:00Z/1H", "R/2026-01-01T00:00:00Z/P", "R/2026-01-01T00:00:00Z/PT",
		"R/2026-01-01T00:00:00Z/PT0S", "R/2026-01-01T00:00:00Z/P1H", "R/2026-01-01T00:00:00Z/PT1D",
		"R/2026-01-01T00:00:00Z/PT1M1H", "R/2026-01-01T00:00:00Z/P1.5D", "* * *", "61 * * * *", "every day",
	} {
		if _, err := parseSchedule(spec); err == nil {
			t.Errorf("parseSchedule(%q) succeeded, want an error", spec)
		}
	}
}

// FuzzSchedule checks that no schedule text makes the parser panic and
// that a parsed schedule moves forward in time.
func FuzzSchedule(f *testing.F) {
	for _, s := range []string{"R3/2026-01-01T00:00:00Z/PT1H", "R/2026-01-31T00:00:00Z/P1M", "*/5 * * * *", "@hourly", "R/2026-01-01T00:00:00Z/P1Y2M3W4DT5H6M7.5S"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		s, err := parseSchedule(spec)
		if err != nil {
			return
		}
		now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
		if next, ok := s.next(now); ok && !next.After(now) {
			t.Fatalf("%q: next(%v) = %v, not later", spec, now, next)
		}
	})
}
