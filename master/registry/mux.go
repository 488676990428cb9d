package registry

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// raftMagic is the first byte a raft connection sends. HTTP requests begin
// with a method name in ASCII, so a byte above 0x7f cannot be one.
const raftMagic byte = 0xF7

// Mux splits one listener between HTTP and raft, so that a master is
// reached for both on the one address operators give in --peers. Why one
// port: RATIONALE.md, "Why do masters replicate over their HTTP port?".
type Mux struct {
	ln     net.Listener
	http   *muxListener
	raft   *muxListener
	closed sync.Once
}

// NewMux starts sorting the connections ln accepts. Close it (or ln) to
// stop.
func NewMux(ln net.Listener) *Mux {
	m := &Mux{ln: ln, http: newMuxListener(ln.Addr()), raft: newMuxListener(ln.Addr())}
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
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	first, err := br.Peek(1)
	_ = c.SetReadDeadline(time.Time{})
	if err != nil {
		c.Close()
		return
	}
	to := m.http
	if first[0] == raftMagic {
		_, _ = br.Discard(1)
		to = m.raft
	}
	if !to.deliver(&bufConn{Conn: c, r: br}) {
		c.Close()
	}
}

// bufConn is a connection whose first bytes were read ahead.
type bufConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// muxListener hands out the connections sorted to it.
type muxListener struct {
	addr  net.Addr
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
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
