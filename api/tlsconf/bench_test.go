package tlsconf_test

import (
	"crypto/tls"
	"testing"

	"github.com/mezzo-cluster/mezzo/api/tlsconf"
	"github.com/mezzo-cluster/mezzo/api/tlsconf/tlstest"
)

// BenchmarkHandshake measures one full TLS handshake on loopback with
// the configurations daemons use (ECDSA P-256, a client certificate
// verified both ways): what a new connection between masters, agents
// and executors costs before its first byte. Connections are kept alive,
// so a cluster pays it per connection, not per request.
func BenchmarkHandshake(b *testing.B) {
	ca := tlstest.NewCA(b, "bench CA")
	cert, key := ca.Issue(b, []string{"127.0.0.1"})
	id, err := tlsconf.Parse(cert, key, ca.PEM())
	if err != nil {
		b.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", id.Server())
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				c.(*tls.Conn).Handshake()
				c.Close()
			}()
		}
	}()
	cfg := id.Client()
	b.ResetTimer()
	for b.Loop() {
		c, err := tls.Dial("tcp", ln.Addr().String(), cfg)
		if err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
}
