package health

import (
	"context"
	"fmt"
	"net"
	"time"
)

// tcpProbe is healthy when a TCP connection to addr opens.
type tcpProbe struct {
	addr    string
	timeout time.Duration
}

func (p *tcpProbe) probe(ctx context.Context) outcome {
	ctx, cancel := withTimeout(ctx, p.timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", p.addr)
	if err == nil {
		conn.Close()
		return outcome{ok: true, msg: "TCP connection to " + p.addr + " succeeded", result: result{known: true, value: 1}}
	}
	if ctx.Err() != nil {
		return outcome{msg: fmt.Sprintf("TCP check of %s timed out after %v", p.addr, p.timeout)}
	}
	return outcome{msg: fmt.Sprintf("TCP check failed: %v", err), result: result{known: true}}
}
