package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// schedule says when a job runs next.
type schedule interface {
	// next returns the first run time strictly after t, and false when
	// there is none (a finite repetition used up).
	next(t time.Time) (time.Time, bool)
}

// parseSchedule reads a job's schedule: an ISO 8601 repeating interval
// ("R5/2026-01-01T00:00:00Z/PT1H", "R/2026-01-01T00:00:00Z/P1D"; "R0/..."
// never runs by itself, for jobs started by hand) as Chronos takes, or a
// cron expression ("*/5 * * * *", with an optional leading seconds field,
// or a descriptor such as "@hourly").
func parseSchedule(s string) (schedule, error) {
	if strings.HasPrefix(s, "R") {
		return parseRepeating(s)
	}
	c, err := cronParser.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("schedule %q is neither an ISO 8601 repeating interval (R[n]/start/period) nor a cron expression: %w", s, err)
	}
	return cronSchedule{c}, nil
}

var cronParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

type cronSchedule struct{ s cron.Schedule }

func (c cronSchedule) next(t time.Time) (time.Time, bool) {
	n := c.s.Next(t)
	return n, !n.IsZero()
}

// repeating is an ISO 8601 repeating interval: count runs (-1: forever)
// at start, start+period, start+2·period, ...
type repeating struct {
	count  int64
	start  time.Time
	period period
}

// period is an ISO 8601 duration. Years, months and days are calendar
// units (a month from 31 January is 3 March, as time.AddDate does);
// the rest is a fixed duration.
type period struct {
	years, months, days int
	clock               time.Duration
}

func (p period) after(t time.Time) time.Time {
	return t.AddDate(p.years, p.months, p.days).Add(p.clock)
}

func (p period) fixed() bool { return p.years == 0 && p.months == 0 && p.days == 0 }

// maxSteps bounds the walk through calendar periods, so that a schedule
// started long ago with a short calendar period cannot stall the
// framework: a daily schedule reaches 27 centuries.
const maxSteps = 1_000_000

func (r repeating) next(t time.Time) (time.Time, bool) {
	if r.count == 0 {
		return time.Time{}, false
	}
	var k int64
	at := r.start
	if !at.After(t) {
		if r.period.fixed() {
			k = int64(t.Sub(r.start)/r.period.clock) + 1
			at = r.start.Add(time.Duration(k) * r.period.clock)
		} else {
			for ; !at.After(t); k++ {
				if k >= maxSteps {
					return time.Time{}, false
				}
				at = r.period.after(at)
			}
		}
	}
	if r.count > 0 && k >= r.count {
		return time.Time{}, false
	}
	return at, true
}

func parseRepeating(s string) (repeating, error) {
	parts := strings.Split(s, "/")
	if len(parts) != 3 {
		return repeating{}, fmt.Errorf("schedule %q: want R[n]/start/period", s)
	}
	r := repeating{count: -1}
	if n := parts[0][1:]; n != "" {
		c, err := strconv.ParseInt(n, 10, 64)
		if err != nil || c < 0 {
			return repeating{}, fmt.Errorf("schedule %q: repetitions %q must be a number ≥ 0", s, n)
		}
		r.count = c
	}
	start, err := time.Parse(time.RFC3339, parts[1])
	if err != nil {
		return repeating{}, fmt.Errorf("schedule %q: start: %w", s, err)
	}
	if start.Year() < 1970 || start.Year() > 9999 {
		// Beyond these, the distance to now no longer fits the
		// arithmetic of time.Duration (±292 years).
		return repeating{}, fmt.Errorf("schedule %q: start must lie between 1970 and 9999", s)
	}
	r.start = start
	if r.period, err = parsePeriod(parts[2]); err != nil {
		return repeating{}, fmt.Errorf("schedule %q: %w", s, err)
	}
	return r, nil
}

// parsePeriod reads an ISO 8601 duration such as P1Y2M3W4DT5H6M7.5S.
// Fractions are allowed on seconds only; a period must be longer than
// zero.
func parsePeriod(s string) (period, error) {
	var p period
	rest, ok := strings.CutPrefix(s, "P")
	if !ok || rest == "" {
		return p, fmt.Errorf("period %q must start with P and name at least one unit", s)
	}
	date, clock, hasClock := strings.Cut(rest, "T")
	if hasClock && clock == "" {
		return p, fmt.Errorf("period %q has a T with nothing after it", s)
	}
	units := func(part, allowed string, apply func(unit byte, v string) error) error {
		for part != "" {
			i := strings.IndexAny(part, allowed)
			if i <= 0 {
				return fmt.Errorf("period %q: %q is not a number followed by one of %s", s, part, allowed)
			}
			if err := apply(part[i], part[:i]); err != nil {
				return err
			}
			allowed = allowed[strings.IndexByte(allowed, part[i])+1:] // units in order, once each
			part = part[i+1:]
		}
		return nil
	}
	whole := func(v string) (int, error) {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 100_000 {
			return 0, fmt.Errorf("period %q: %q must be a whole number up to 100000", s, v)
		}
		return n, nil
	}
	err := units(date, "YMWD", func(u byte, v string) error {
		n, err := whole(v)
		switch u {
		case 'Y':
			p.years = n
		case 'M':
			p.months = n
		case 'W':
			p.days += 7 * n
		case 'D':
			p.days += n
		}
		return err
	})
	if err != nil {
		return p, err
	}
	err = units(clock, "HMS", func(u byte, v string) error {
		if u == 'S' {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f < 0 || f > 1e9 || v[0] == '+' {
				return fmt.Errorf("period %q: seconds %q must be a number ≥ 0", s, v)
			}
			p.clock += time.Duration(f * float64(time.Second))
			return nil
		}
		n, err := whole(v)
		if u == 'H' {
			p.clock += time.Duration(n) * time.Hour
		} else {
			p.clock += time.Duration(n) * time.Minute
		}
		return err
	})
	if err != nil {
		return p, err
	}
	if p.fixed() && p.clock < time.Millisecond {
		return p, errors.New("period " + strconv.Quote(s) + " must be at least a millisecond")
	}
	return p, nil
}
