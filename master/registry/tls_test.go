package registry

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/mezzo-cluster/mezzo/api/tlsconf"
	"github.com/mezzo-cluster/mezzo/api/tlsconf/tlstest"
)

// tlsIdentity is a master's identity for 127.0.0.1, signed by ca.
func tlsIdentity(t testing.TB, ca *tlstest.CA) *tlsconf.Identity {
	t.Helper()
	cert, key := ca.Issue(t, []string{"127.0.0.1"})
	id, err := tlsconf.Parse(cert, key, ca.PEM())
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// startTLSCluster starts n members whose muxes serve TLS with
// certificates from ca.
func startTLSCluster(t *testing.T, ca *tlstest.CA, n int) []*member {
	t.Helper()
	lns, peers := listenPeers(t, n)
	base := t.TempDir()
	var ms []*member
	for i, ln := range lns {
		id := tlsIdentity(t, ca)
		mux := NewTLSMux(ln, id.Server(), id.Client())
		mux.SetRaftPeers(func() []string { return peers })
		reg, err := Open(context.Background(), testConfig(filepath.Join(base, fmt.Sprint(i)), peers[i], peers, mux))
		if err != nil {
			mux.Close()
			t.Fatal(err)
		}
		m := &member{dir: filepath.Join(base, fmt.Sprint(i)), addr: peers[i], mux: mux, reg: reg}
		t.Cleanup(m.stop)
		ms = append(ms, m)
	}
	return ms
}

// TestTLSClusterReplicates runs three masters whose raft goes over TLS:
// they elect a leader and what it applies reaches the others.
func TestTLSClusterReplicates(t *testing.T) {
	ms := startTLSCluster(t, tlstest.NewCA(t, "cluster CA"), 3)
	var leader *member
	waitFor(t, "a leader", func() bool { leader = leaderOf(ms); return leader != nil })
	if err := leader.reg.Apply(context.Background(), PutWeight("web", 2)); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		waitFor(t, "replication to "+m.addr, func() bool {
			s, err := m.reg.Load()
			return err == nil && s.Weights["web"] == 2
		})
	}
}

// dialLayer is a raft stream layer that only dials, the way a stranger
// would reach a master's raft.
type dialLayer struct {
	dial func(addr string) (net.Conn, error)
	done chan struct{}
}

func (d *dialLayer) Accept() (net.Conn, error) { <-d.done; return nil, net.ErrClosed }
func (d *dialLayer) Close() error              { close(d.done); return nil }
func (d *dialLayer) Addr() net.Addr            { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }
func (d *dialLayer) Dial(a raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	return d.dial(string(a))
}

// TestTLSMuxRefusesStrangersRaft sends raft AppendEntries with a higher
// term to the leader of a TLS cluster from peers that are not members:
// none gets through, and the term stays. A member's own credentials do
// get through (the control that shows the test can fail).
func TestTLSMuxRefusesStrangersRaft(t *testing.T) {
	ca := tlstest.NewCA(t, "cluster CA")
	ms := startTLSCluster(t, ca, 1)
	waitFor(t, "a leader", ms[0].reg.IsLeader)
	addr := ms[0].addr
	member := tlsIdentity(t, ca)
	stranger := tlsIdentity(t, tlstest.NewCA(t, "stranger CA"))
	elsewhereCert, elsewhereKey := ca.Issue(t, []string{"10.9.9.9", "agent.test"})
	elsewhere, err := tlsconf.Parse(elsewhereCert, elsewhereKey, ca.PEM())
	if err != nil {
		t.Fatal(err)
	}
	caOnly, err := tlsconf.Parse(nil, nil, ca.PEM())
	if err != nil {
		t.Fatal(err)
	}
	tlsDial := func(cfg *tls.Config) func(string) (net.Conn, error) {
		cfg = cfg.Clone()
		cfg.NextProtos = []string{tlsconf.RaftProtocol}
		return func(a string) (net.Conn, error) { return tls.Dial("tcp", a, cfg) }
	}
	for _, tc := range []struct {
		name   string
		dial   func(string) (net.Conn, error)
		accept bool
	}{
		{"plain raft", func(a string) (net.Conn, error) {
			c, err := net.Dial("tcp", a)
			if err == nil {
				_, err = c.Write([]byte{raftMagic})
			}
			return c, err
		}, false},
		{"TLS without a client certificate", tlsDial(caOnly.Client()), false},
		{"TLS with a certificate from another CA", tlsDial(stranger.Client()), false},
		// The cluster's CA signed it, for a host that is no master's
		// (an agent's, say).
		{"TLS with a certificate for another host", tlsDial(elsewhere.Client()), false},
		{"TLS with a member's certificate", tlsDial(member.Client()), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			term := ms[0].reg.Term()
			trans := raft.NewNetworkTransport(&dialLayer{dial: tc.dial, done: make(chan struct{})}, 1, 5*time.Second, io.Discard)
			defer trans.Close()
			req := &raft.AppendEntriesRequest{
				RPCHeader: raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax, ID: []byte("stranger"), Addr: []byte("127.0.0.1:1")},
				Term:      term + 10, Leader: []byte("127.0.0.1:1"),
			}
			var resp raft.AppendEntriesResponse
			err := trans.AppendEntries("stranger", raft.ServerAddress(addr), req, &resp)
			if tc.accept {
				if err != nil {
					t.Fatalf("a member's AppendEntries: %v", err)
				}
				if resp.Term != term+10 {
					t.Fatalf("a member's AppendEntries was answered in term %d, want %d", resp.Term, term+10)
				}
				return
			}
			if err == nil {
				t.Fatalf("AppendEntries got through: %+v", resp)
			}
			if got := ms[0].reg.Term(); got != term {
				t.Fatalf("term moved from %d to %d", term, got)
			}
		})
	}
}

// TestTLSMuxServesHTTPS checks the HTTP side of a TLS mux: HTTPS reaches
// the HTTP server with the client's certificate verified, and plain HTTP
// is told to use HTTPS.
func TestTLSMuxServesHTTPS(t *testing.T) {
	ca := tlstest.NewCA(t, "cluster CA")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	id := tlsIdentity(t, ca)
	mux := NewTLSMux(ln, id.Server(), id.Client())
	defer mux.Close()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s verified=%v", r.Proto, r.TLS != nil && len(r.TLS.VerifiedChains) > 0)
	})}
	p := new(http.Protocols)
	p.SetHTTP1(true)
	p.SetHTTP2(true)
	srv.Protocols = p
	go srv.Serve(mux.HTTP())
	defer srv.Close()
	caOnly, err := tlsconf.Parse(nil, nil, ca.PEM())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		client *http.Client
		url    string
		want   string
	}{
		{"HTTPS with a certificate", &http.Client{Transport: tlsconf.Transport(id.Client())}, "https://", "HTTP/2.0 verified=true"},
		{"HTTPS without one", &http.Client{Transport: tlsconf.Transport(caOnly.Client())}, "https://", "HTTP/2.0 verified=false"},
		{"plain HTTP", &http.Client{}, "http://", "Client sent an HTTP request to an HTTPS server."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := tc.client.Get(tc.url + ln.Addr().String() + "/")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if got := strings.TrimSpace(string(body)); got != tc.want {
				t.Fatalf("%s: %q, want %q", resp.Status, got, tc.want)
			}
		})
	}
}

// TestTLSJoin adds a master started to join (knowing no peer) to a TLS
// cluster of one: it accepts the leader's raft by the CA alone until it
// has the configuration, then catches up and takes part in commits.
func TestTLSJoin(t *testing.T) {
	ca := tlstest.NewCA(t, "cluster CA")
	// The leader on another loopback address than the joiner, with a
	// certificate for that address only: the joiner, knowing no master
	// yet, must take it on the CA's word.
	lln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	lcert, lkey := ca.Issue(t, []string{"127.0.0.2"})
	lid, err := tlsconf.Parse(lcert, lkey, ca.PEM())
	if err != nil {
		t.Fatal(err)
	}
	lmux := NewTLSMux(lln, lid.Server(), lid.Client())
	laddr := lln.Addr().String()
	lmux.SetRaftPeers(func() []string { return []string{laddr} })
	lreg, err := Open(context.Background(), testConfig(t.TempDir(), laddr, []string{laddr}, lmux))
	if err != nil {
		lmux.Close()
		t.Fatal(err)
	}
	leader := &member{addr: laddr, mux: lmux, reg: lreg}
	t.Cleanup(leader.stop)
	waitFor(t, "a leader", leader.reg.IsLeader)
	ctx := context.Background()
	if err := leader.reg.Apply(ctx, PutWeight("web", 3)); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	id := tlsIdentity(t, ca)
	mux := NewTLSMux(ln, id.Server(), id.Client())
	cfg := testConfig(t.TempDir(), ln.Addr().String(), nil, mux)
	cfg.Join = true
	var opened atomic.Pointer[Registry]
	mux.SetRaftPeers(func() []string { return RaftPeers(cfg, opened.Load()) })
	reg, err := Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	opened.Store(reg)
	joined := &member{dir: cfg.Dir, addr: cfg.Addr, mux: mux, reg: reg}
	t.Cleanup(joined.stop)
	if err := leader.reg.AddMaster(ctx, joined.addr); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the new master to catch up", func() bool {
		s, err := joined.reg.Load()
		return err == nil && s.Weights["web"] == 3
	})
	if err := leader.reg.Apply(ctx, PutWeight("after", 1)); err != nil {
		t.Fatal(err)
	}
}

// TestRaftPeers checks whom a TLS master lets speak raft before its
// registry is open: the masters Peers names, itself included, or — for a
// master waiting to be added — anyone with a certificate from the CA.
func TestRaftPeers(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want []string
	}{
		{"peers", Config{Addr: "10.0.0.1:5050", Peers: []string{"10.0.0.1:5050", "10.0.0.2:5050"}},
			[]string{"10.0.0.1:5050", "10.0.0.1:5050", "10.0.0.2:5050"}},
		{"alone", Config{Addr: "10.0.0.1:5050"}, []string{"10.0.0.1:5050"}},
		{"joining", Config{Addr: "10.0.0.4:5050", Join: true}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := RaftPeers(tc.cfg, nil); !slices.Equal(got, tc.want) {
				t.Fatalf("RaftPeers = %v, want %v", got, tc.want)
			}
		})
	}
}
