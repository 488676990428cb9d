package httpapi

import (
	"math"
	"testing"
	"time"
)

func TestHeartbeatInterval(t *testing.T) {
	tests := []struct {
		name string
		secs float64
		want time.Duration
		ok   bool
	}{
		{name: "Mesos's default", secs: 15, want: 15 * time.Second, ok: true},
		{name: "fraction", secs: 2.5, want: 2500 * time.Millisecond, ok: true},
		{name: "below the minimum", secs: 1e-7, want: MinHeartbeat, ok: true},
		{name: "above the maximum", secs: 7200, want: MaxHeartbeat, ok: true},
		{name: "would overflow a Duration", secs: 1e10, want: MaxHeartbeat, ok: true},
		{name: "far beyond", secs: 1e300, want: MaxHeartbeat, ok: true},
		{name: "infinite", secs: math.Inf(1), want: MaxHeartbeat, ok: true},
		{name: "zero", secs: 0},
		{name: "negative", secs: -15},
		{name: "NaN", secs: math.NaN()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := HeartbeatInterval(tt.secs)
			if got != tt.want || ok != tt.ok {
				t.Fatalf("HeartbeatInterval(%g) = %v, %v; want %v, %v", tt.secs, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestSilenceTimeout(t *testing.T) {
	tests := []struct {
		name     string
		missed   int
		interval time.Duration
		want     time.Duration
	}{
		{name: "default", missed: 5, interval: 15 * time.Second, want: 75 * time.Second},
		{name: "longest interval", missed: 5, interval: MaxHeartbeat, want: 5 * time.Hour},
		{name: "saturates", missed: math.MaxInt32, interval: MaxHeartbeat, want: time.Duration(math.MaxInt64)},
		{name: "none", missed: 0, interval: MaxHeartbeat, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SilenceTimeout(tt.missed, tt.interval); got != tt.want {
				t.Fatalf("SilenceTimeout(%d, %v) = %v, want %v", tt.missed, tt.interval, got, tt.want)
			}
		})
	}
}
