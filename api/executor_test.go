package api

import (
	"testing"
	"time"
)

func TestMesosDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{15 * time.Minute, "15mins"},
		{5 * time.Second, "5secs"},
		{90 * time.Second, "90secs"},
		{1500 * time.Millisecond, "1500ms"},
		{2 * time.Hour, "2hrs"},
		{48 * time.Hour, "2days"},
		{14 * 24 * time.Hour, "2weeks"},
		{3 * time.Microsecond, "3us"},
		{1001 * time.Nanosecond, "1001ns"},
		{0, "0ns"},
	}
	for _, tt := range tests {
		if got := MesosDuration(tt.d); got != tt.want {
			t.Errorf("MesosDuration(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}
