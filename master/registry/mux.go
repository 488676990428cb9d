package registry

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"

	"github.com/mezzo-cluster/mezzo/api/tlsconf"
)

// raftMagic is the first byte a raft connection sends. HTTP requests begin
// with a method name in ASCII, so a byte above 0x7f cannot be one.
const raftMagic byte = 0xF7

// tlsHandshake is the first byte of a TLS connection (a handshake record).
const tlsHandshake byte = 0x16

// handshakeTimeout bounds how long a connection may take to say what it
// is (its first byte, or its TLS handshake).
const handshakeTimeout = 10 * time.Second

// Mux splits one listener between HTTP and raft, so that a master is
// reached for both on the one address operators give in --peers. Why one
// port: RATIONALE.md, "Why do masters replicate over their HTTP port?".
type Mux struct {
	ln     net.Listener
	http   *muxListener
	raft   *muxListener
	closed sync.Once
	// server is the TLS configuration of every connection accepted, nil
	// for plain TCP; it offers tlsconf.RaftProtocol beside HTTP's.
	server *tls.Config
	// peers, when set, returns the addresses of the cluster's masters:
	// a raft client's certificate must be valid for one of their hosts.
	peers atomic.Pointer[func() []string]
	log   *slog.Logger
}

// SetRaftPeers makes a TLS mux accept a raft connection only from a
// client whose certificate is valid for the host of one of the
// addresses peers returns — the masters of the cluster — so that a
// certificate the cluster's CA issued to an agent or a client on another
// host does not let its holder speak raft. peers is called once for each
// raft connection, from the mux's goroutines; an empty list means the
// masters are not known yet (a master waiting to be added), and any
// certificate from the CA will do, as without SetRaftPeers.
func (m *Mux) SetRaftPeers(peers func() []string) { m.peers.Store(&peers) }

// RaftPeers returns, for SetRaftPeers, the addresses of the masters that
// may speak raft to the member cfg describes: those cfg.Peers names,
// itself included, and, once r (nil until Open returns) is open, the
// members of its configuration — masters added since included. It is
// nil, meaning any certificate from the CA, for a member started with
// cfg.Join until it has the configuration: it cannot know the leader
// that will add it.
func RaftPeers(cfg Config, r *Registry) []string {
	var members []string
	if r != nil {
		servers, err := r.Servers()
		if err != nil {
			r.log.Warn("read the masters of the raft configuration", "err", err)
		}
		for _, s := range servers {
			members = append(members, string(s.Address))
		}
	}
	if cfg.Join && len(members) == 0 {
		return nil
	}
	return append(append([]string{cfg.Addr}, cfg.Peers...), members...)
}

// checkPeer reports why leaf may not speak raft here, if it may not.
func (m *Mux) checkPeer(leaf *x509.Certificate) error {
	fn := m.peers.Load()
	if fn == nil {
		return nil
	}
	addrs := (*fn)()
	if len(addrs) == 0 {
		return nil
	}
	for _, a := range addrs {
		host, _, err := net.SplitHostPort(a)
		if err == nil && leaf.VerifyHostname(host) == nil {
			return nil
		}
	}
	return fmt.Errorf("its certificate %q is valid for none of the masters %v", leaf.Subject, addrs)
}

// NewMux starts sorting the connections ln accepts, in plain TCP: raft
// connections begin with a magic byte. Close it (or ln) to stop.
func NewMux(ln net.Listener) *Mux {
	m := &Mux{ln: ln, http: newMuxListener(ln.Addr()), raft: newMuxListener(ln.Addr()), log: slog.Default()}
	go m.serve()
	return m
}

// NewTLSMux starts sorting the connections ln accepts for a master that
// serves TLS: each is a TLS connection, whose handshake says what it is —
// a raft connection negotiates tlsconf.RaftProtocol by ALPN and must
// present a client certificate server verifies (server.ClientCAs), and
// anything else is HTTPS. Raft dials peers with client, which must hold
// this master's certificate and the CA its peers are verified against.
// Plain HTTP is answered with a 400 saying the port wants HTTPS, and
// plain raft is refused. Why ALPN: RATIONALE.md, "Why is raft told from
// HTTPS by ALPN?".
func NewTLSMux(ln net.Listener, server, client *tls.Config) *Mux {
	srv := server.Clone()
	srv.NextProtos = append(srv.NextProtos[:len(srv.NextProtos):len(srv.NextProtos)], tlsconf.RaftProtocol)
	cli := client.Clone()
	cli.NextProtos = []string{tlsconf.RaftProtocol}
	m := &Mux{ln: ln, http: newMuxListener(ln.Addr()), server: srv, log: slog.Default().With("component", "registry")}
	m.raft = newMuxListener(ln.Addr())
	m.raft.client = cli
	go m.serve()
	return m
}

// HTTP is the listener of everything that is not raft.
func (m *Mux) HTTP() net.Listener { return m.http }

// Raft is raft's stream layer: raft's connections in, and a dialer that
// marks its connections out.
func (m *Mux) Raft() raft.StreamLayer { return m.raft }

// Close stops the listener.
func (m *Mux) Close() error {
	err := m.ln.Close()
	m.closed.Do(func() { m.http.close(); m.raft.close() })
	return err
}

func (m *Mux) serve() {
	for {
		c, err := m.ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			m.closed.Do(func() { m.http.close(); m.raft.close() })
			return
		}
		go m.sort(c)
	}
}

// sort reads a connection's first byte, within a deadline so that a silent
// client cannot hold a goroutine for ever, and hands it on.
func (m *Mux) sort(c net.Conn) {
	_ = c.SetReadDeadline(time.Now().Add(handshakeTimeout))
	var first [1]byte
	_, err := io.ReadFull(c, first[:])
	_ = c.SetReadDeadline(time.Time{})
	if err != nil {
		c.Close()
		return
	}
	if m.server != nil {
		m.sortTLS(&peekedConn{Conn: c, first: first[0], pending: true}, first[0])
		return
	}
	var to *muxListener
	var conn net.Conn
	if first[0] == raftMagic {
		to, conn = m.raft, c // the magic byte is not raft's
	} else {
		to, conn = m.http, &peekedConn{Conn: c, first: first[0], pending: true}
	}
	if !to.deliver(conn) {
		c.Close()
	}
}

// sortTLS sorts a connection of a TLS master by its handshake.
func (m *Mux) sortTLS(c net.Conn, first byte) {
	switch first {
	case raftMagic:
		m.log.Warn("refused a plain raft connection: this master speaks raft over TLS only", "remote", c.RemoteAddr())
		c.Close()
		return
	case tlsHandshake:
	default:
		// Not TLS: the HTTP server's own handshake fails on it and
		// answers "400 Client sent an HTTP request to an HTTPS server".
		if !m.http.deliver(tls.Server(c, m.server)) {
			c.Close()
		}
		return
	}
	tc := tls.Server(c, m.server)
	ctx, cancel := context.WithTimeout(context.Background(), handshakeTimeout)
	err := tc.HandshakeContext(ctx)
	cancel()
	if err != nil {
		m.log.Debug("TLS handshake failed", "remote", c.RemoteAddr(), "err", err)
		tc.Close()
		return
	}
	to := m.http
	if cs := tc.ConnectionState(); cs.NegotiatedProtocol == tlsconf.RaftProtocol {
		if len(cs.VerifiedChains) == 0 {
			m.log.Warn("refused a raft connection without a client certificate from the cluster's CA", "remote", c.RemoteAddr())
			tc.Close()
			return
		}
		if err := m.checkPeer(cs.PeerCertificates[0]); err != nil {
			m.log.Warn("refused a raft connection from a stranger to the cluster", "remote", c.RemoteAddr(), "err", err)
			tc.Close()
			return
		}
		to = m.raft
	}
	if !to.deliver(tc) {
		tc.Close()
	}
}

// peekedConn is a connection whose first byte was read to sort it: a
// read returns that byte first. It holds one byte, not a buffered
// reader's 4 KiB: every agent's connection lives as long as the agent,
// and the HTTP server buffers it already (item g of issue #9).
type peekedConn struct {
	net.Conn
	first   byte
	pending bool
}

func (c *peekedConn) Read(p []byte) (int, error) {
	if c.pending && len(p) > 0 {
		p[0], c.pending = c.first, false
		return 1, nil
	}
	return c.Conn.Read(p)
}

// muxListener hands out the connections sorted to it.
type muxListener struct {
	addr net.Addr
	// client, when set, dials peers over TLS (the raft side of a TLS
	// mux).
	client *tls.Config
	conns  chan net.Conn
	done   chan struct{}
	once   sync.Once
}

func newMuxListener(addr net.Addr) *muxListener {
	return &muxListener{addr: addr, conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *muxListener) deliver(c net.Conn) bool {
	select {
	case l.conns <- c:
		return true
	case <-l.done:
		return false
	}
}

func (l *muxListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *muxListener) close() { l.once.Do(func() { close(l.done) }) }

// Close closes this side only; the other keeps working until Mux.Close.
func (l *muxListener) Close() error { l.close(); return nil }

func (l *muxListener) Addr() net.Addr { return l.addr }

// Dial opens a raft connection to another master and marks it as raft.
func (l *muxListener) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	if l.client != nil {
		return l.dialTLS(address, timeout)
	}
	c, err := net.DialTimeout("tcp", string(address), timeout)
	if err != nil {
		return nil, err
	}
	_ = c.SetWriteDeadline(time.Now().Add(timeout))
	if _, err := c.Write([]byte{raftMagic}); err != nil {
		c.Close()
		return nil, fmt.Errorf("dial raft peer %s: %w", address, err)
	}
	_ = c.SetWriteDeadline(time.Time{})
	return c, nil
}

// dialTLS opens a raft connection over TLS, offering only
// tlsconf.RaftProtocol and verifying the peer against the CA.
func (l *muxListener) dialTLS(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	host, _, err := net.SplitHostPort(string(address))
	if err != nil {
		return nil, fmt.Errorf("dial raft peer %s: %w", address, err)
	}
	cfg := l.client.Clone()
	cfg.ServerName = host
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: timeout}, "tcp", string(address), cfg)
	if err != nil {
		return nil, fmt.Errorf("dial raft peer %s over TLS: %w", address, err)
	}
	if p := c.ConnectionState().NegotiatedProtocol; p != tlsconf.RaftProtocol {
		c.Close()
		return nil, fmt.Errorf("dial raft peer %s: it does not speak %s (negotiated %q)", address, tlsconf.RaftProtocol, p)
	}
	return c, nil
}
