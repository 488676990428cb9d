package httpapi

import (
	"math"
	"time"
)

// The heartbeat intervals a client accepts from a master's SUBSCRIBED
// event. Why clamp: the interval comes from the network and a client
// multiplies it into the time its stream may stay silent. An interval
// of a microsecond made that time shorter than the wait between two
// heartbeats, and one of 1e10 seconds overflowed into a negative
// duration; either way the client dropped every stream as silent at once
// and subscribed again, over and over. A second and an hour bound any
// interval a master means (Mesos's is 15 s).
const (
	MinHeartbeat = time.Second
	MaxHeartbeat = time.Hour
)

// HeartbeatInterval turns a SUBSCRIBED event's heartbeat_interval_seconds
// into an interval within [MinHeartbeat, MaxHeartbeat]. ok is false when
// secs names no interval (zero, negative or NaN), and the caller keeps the
// one it assumed.
func HeartbeatInterval(secs float64) (d time.Duration, ok bool) {
	switch {
	case !(secs > 0): // NaN too
		return 0, false
	case secs >= MaxHeartbeat.Seconds(): // +Inf too; compared before it can overflow
		return MaxHeartbeat, true
	}
	return max(time.Duration(secs*float64(time.Second)), MinHeartbeat), true
}

// SilenceTimeout is how long a stream with heartbeat interval may stay
// silent when missed intervals pass without an event, saturated rather
// than overflowing for a large missed.
func SilenceTimeout(missed int, interval time.Duration) time.Duration {
	if missed > 0 && interval > time.Duration(math.MaxInt64)/time.Duration(missed) {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(missed) * interval
}
