package health

import (
	"context"
	"net"
	"strconv"
	"time"
)

// result is what a check found out: the exit code, the HTTP status, or 1
// for a TCP connection that opened and 0 for one that did not. known is
// false when the check could not tell: it timed out, the command was
// killed by a signal or could not start, or no HTTP response came.
type result struct {
	known bool
	value int64
}

// outcome is one check's verdict.
type outcome struct {
	ok  bool   // healthy: exit 0, an accepted status, a connection
	msg string // what happened, for TaskStatus.message
	result
}

// prober performs one check. probe is called from the checker's goroutine
// only and returns early, killing what it started, when ctx ends.
type prober interface {
	probe(ctx context.Context) outcome
}

// withTimeout limits ctx to d, zero meaning no limit as in Mesos.
func withTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d)
}

// hostPort is the address to check: Target.Host, else the loopback
// address of the check's protocol (Mesos checks 127.0.0.1, or ::1 for IPv6).
func hostPort(t Target, protocol string, port uint64) string {
	host := t.Host
	if host == "" {
		host = "127.0.0.1"
		if protocol == "IPv6" {
			host = "::1"
		}
	}
	return net.JoinHostPort(host, strconv.FormatUint(port, 10))
}
