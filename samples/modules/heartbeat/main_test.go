package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestBeat(t *testing.T) {
	var out bytes.Buffer
	beat(&out, time.Millisecond, 3)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "heartbeat 1 ") || !strings.HasPrefix(lines[2], "heartbeat 3 ") {
		t.Fatalf("beat printed %q", out.String())
	}
}
