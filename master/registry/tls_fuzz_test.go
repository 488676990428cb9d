package registry

import (
	"errors"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api/tlsconf/tlstest"
)

// FuzzTLSMux sends arbitrary bytes to a TLS mux's port as a client
// would: the connection must end (answered or closed) rather than hang
// or crash the master, and none may reach raft, since no input can
// carry a client certificate from the cluster's CA.
func FuzzTLSMux(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("GET /health HTTP/1.1\r\nHost: x\r\n\r\n"))
	f.Add([]byte{raftMagic, 0x00, 0x01})
	f.Add([]byte{tlsHandshake, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00})
	f.Add([]byte{tlsHandshake, 0x03, 0x03, 0xff, 0xff})
	f.Add([]byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"))
	ca := tlstest.NewCA(f, "fuzz CA")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	id := tlsIdentity(f, ca)
	mux := NewTLSMux(ln, id.Server(), id.Client())
	defer mux.Close()
	mux.SetRaftPeers(func() []string { return []string{ln.Addr().String()} })
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }),
		ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(mux.HTTP())
	defer srv.Close()
	var raftConns atomic.Int64
	go func() {
		for {
			c, err := mux.Raft().Accept()
			if err != nil {
				return
			}
			raftConns.Add(1)
			c.Close()
		}
	}()
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		// Reset rather than linger: a long run must not fill the
		// machine's ports with TIME_WAIT.
		_ = c.(*net.TCPConn).SetLinger(0)
		_ = c.SetDeadline(time.Now().Add(30 * time.Second)) // a hang, not a speed, guard
		if _, err := c.Write(data); err != nil {
			return // closed on the first bytes: fine
		}
		_ = c.(*net.TCPConn).CloseWrite()
		var ne net.Error
		if _, err := io.Copy(io.Discard, c); errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("the mux neither answered nor closed a connection that sent %q", data)
		}
		if n := raftConns.Load(); n != 0 {
			t.Fatalf("%d connections reached raft", n)
		}
	})
}
