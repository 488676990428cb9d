package main

import (
	"testing"
	"time"
)

func TestDuration(t *testing.T) {
	tests := []struct {
		args []string
		want time.Duration
		ok   bool
	}{
		{nil, time.Hour, true},
		{[]string{"30s"}, 30 * time.Second, true},
		{[]string{"later"}, 0, false},
		{[]string{"-1s"}, 0, false},
	}
	for _, tt := range tests {
		got, err := duration(tt.args)
		if got != tt.want || (err == nil) != tt.ok {
			t.Errorf("duration(%q) = %v, %v", tt.args, got, err)
		}
	}
}
