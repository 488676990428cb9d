package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/mezzo-cluster/mezzo/api/tlsconf"
	"github.com/mezzo-cluster/mezzo/api/tlsconf/tlstest"
)

// tlsArgs are the daemon flags for the files f.
func tlsArgs(f tlstest.Files) []string {
	return []string{"--tls-cert", f.Cert, "--tls-key", f.Key, "--tls-ca", f.CA}
}

// runCLI runs mezzo with args and returns its output and exit code.
func runCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, mezzoBin, args...)
	cmd.Dir = repoRoot
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("mezzo %s timed out; stderr:\n%s", strings.Join(args, " "), errb.String())
	}
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("mezzo %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), errb.String(), code
}

// TestTLSCluster runs three replicated masters whose raft goes over TLS
// and an agent, all with certificates from one CA, and drives them as a
// user would over https: the agent registers, a Wasm task and a native
// task run (their executors reach the agent over https) and the CLI reads
// their output through the masters' file proxy (master to agent over
// https); every master answers, standbys by a 307 to the leader, and
// they copy the leader's modules over https; a fourth master started
// with --join is added and follows the leader. A
// client without the CA is refused with a verification error, plain HTTP
// is told to use HTTPS, and raft peers without a certificate from the CA
// are refused.
func TestTLSCluster(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "e2e cluster CA")
	masterFiles := ca.WriteFiles(t, dir, "master", []string{"127.0.0.1", "localhost"})
	agentFiles := ca.WriteFiles(t, dir, "agent", []string{"127.0.0.1"})
	c := startReplicated(t, 3, tlsArgs(masterFiles)...)
	all := strings.Join(c.addrs(), ",")
	port := freePort(t)
	agentAddr := "127.0.0.1:" + strconv.Itoa(port)
	agent := startAgentOn(t, all, filepath.Join(dir, "agent"), port, tlsArgs(agentFiles)...)
	// The CA goes first: everything after "--" is the task's.
	withCA := func(args ...string) []string {
		return append([]string{args[0], "--tls-ca", masterFiles.CA}, args[1:]...)
	}

	// The agent registers with the leader, and a standby lists agents from
	// its replica, which has the registration only once it has applied it,
	// a moment later or more. So each master is asked until it lists the
	// agent, not once after one of them did.
	registered := false
	defer func() {
		if !registered {
			t.Logf("agent:\n%s", agent.logs)
		}
	}()
	for _, m := range c.masters {
		var last string
		waitFor(t, func() bool {
			out, stderr, code := runCLI(t, withCA("agents", "--master", m.addr)...)
			if now := fmt.Sprintf("exit %d\n%s%s", code, out, stderr); now != last {
				t.Logf("mezzo agents --master %s: %s", m.addr, now)
				last = now
			}
			return code == 0 && strings.Contains(out, "ACTIVE")
		}, "the agent to register over TLS, listed ACTIVE by master "+m.addr+" (leader or standby)")
	}
	registered = true
	if out, stderr, code := runCLI(t, withCA("agents", "--master", all)...); code != 0 || !strings.Contains(out, "ACTIVE") {
		t.Errorf("mezzo agents --master %s: exit %d\n%s%s", all, code, out, stderr)
	}

	t.Run("wasm task", func(t *testing.T) {
		out, stderr, code := runCLI(t, withCA("run", "--master", all, "./samples/modules/hello", "--", "over-tls")...)
		if code != 0 || !strings.Contains(out, "hello over-tls") {
			t.Fatalf("mezzo run hello: exit %d\nstdout:\n%s\nstderr:\n%s\nagent:\n%s", code, out, stderr, agent.logs)
		}
	})
	t.Run("module copies between masters", func(t *testing.T) {
		// The standbys copy the module the run pushed from the leader,
		// over https with their certificates.
		for _, m := range c.masters {
			waitFor(t, func() bool {
				blobs, _ := filepath.Glob(filepath.Join(m.dir, "modules", "*.wasm"))
				return len(blobs) == 1
			}, "the hello module on master "+m.addr)
		}
	})
	t.Run("native task", func(t *testing.T) {
		out, stderr, code := runCLI(t, withCA("run", "--master", all, "--command", "echo native-over-tls")...)
		if code != 0 || !strings.Contains(out, "native-over-tls") {
			t.Fatalf("mezzo run --command: exit %d\nstdout:\n%s\nstderr:\n%s\nagent:\n%s", code, out, stderr, agent.logs)
		}
	})
	t.Run("a sample framework", func(t *testing.T) {
		// Frameworks built on the SDK take the CLI's environment
		// (scheduler.Config.FromEnv): the CA alone is enough.
		bin := buildSample(t, "samples/execute")
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, "--master", all, "--instances", "2", "--", "echo sample-over-tls")
		cmd.Env = append(os.Environ(), "MEZZO_TLS_CA="+masterFiles.CA)
		out, err := cmd.CombinedOutput()
		if err != nil || strings.Count(string(out), "TASK_FINISHED") != 2 {
			t.Fatalf("samples/execute over TLS: %v\n%s", err, out)
		}
	})
	t.Run("client without the CA", func(t *testing.T) {
		for _, tc := range []struct{ master, want string }{
			{"https://" + c.masters[0].addr, "does not trust"}, // verified against the system pool
			{c.masters[0].addr, "serves HTTPS only"},           // plain HTTP
		} {
			out, stderr, code := runCLI(t, "agents", "--master", tc.master)
			if code == 0 || !strings.Contains(stderr, tc.want) || !strings.Contains(stderr, "--tls-ca") {
				t.Errorf("mezzo agents --master %s without --tls-ca: exit %d, stdout %q, stderr %q; want an error saying %q and naming --tls-ca", tc.master, code, out, stderr, tc.want)
			}
		}
	})
	t.Run("plain HTTP", func(t *testing.T) {
		resp, err := http.Get("http://" + c.masters[0].addr + "/health")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "HTTPS") {
			t.Fatalf("plain GET /health: %s %q, want 400 asking for HTTPS", resp.Status, body)
		}
	})
	t.Run("agent API", func(t *testing.T) {
		caPEM, err := os.ReadFile(masterFiles.CA)
		if err != nil {
			t.Fatal(err)
		}
		id, err := tlsconf.Parse(nil, nil, caPEM)
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name   string
			client *http.Client
			url    string
			want   int
		}{
			{"https with the CA", &http.Client{Transport: tlsconf.Transport(id.Client())}, "https://", http.StatusOK},
			{"plain http", &http.Client{}, "http://", http.StatusBadRequest},
		} {
			resp, err := tc.client.Get(tc.url + agentAddr + "/monitor/statistics")
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("%s: GET /monitor/statistics answered %s, want %d", tc.name, resp.Status, tc.want)
			}
		}
	})
	t.Run("a master joins", func(t *testing.T) {
		// It knows no master when it starts: it takes the leader that adds
		// it on the CA's word, then replicates over TLS like the others.
		caPEM, err := os.ReadFile(masterFiles.CA)
		if err != nil {
			t.Fatal(err)
		}
		id, err := tlsconf.Parse(nil, nil, caPEM)
		if err != nil {
			t.Fatal(err)
		}
		client := &http.Client{Timeout: 5 * time.Second, Transport: tlsconf.Transport(id.Client()),
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		call := func(addr, body string) (int, string) {
			resp, err := client.Post("https://"+addr+"/api/v1", "application/json", strings.NewReader(body))
			if err != nil {
				return 0, err.Error()
			}
			defer resp.Body.Close()
			return resp.StatusCode, resp.Header.Get("Location")
		}
		var leader string
		waitFor(t, func() bool {
			for _, m := range c.masters {
				if code, _ := call(m.addr, leaderOnlyCall); code == http.StatusOK {
					leader = m.addr
					return true
				}
			}
			return false
		}, "the leader to answer over https")
		joining := &masterProc{addr: "127.0.0.1:" + strconv.Itoa(freePort(t)), dir: filepath.Join(dir, "joining"), join: true}
		c.start(joining)
		c.masters = append(c.masters, joining)
		if code, msg := call(leader, `{"type":"ADD_MASTER","add_master":{"address":"`+joining.addr+`"}}`); code != http.StatusOK {
			t.Fatalf("ADD_MASTER: %d %s", code, msg)
		}
		var last string
		waitFor(t, func() bool {
			code, loc := call(joining.addr, leaderOnlyCall)
			if now := fmt.Sprint(code, " ", loc); now != last {
				t.Logf("the new master answers %s", now)
				last = now
			}
			return code == http.StatusTemporaryRedirect && loc == "//"+leader+"/api/v1"
		}, "the new master to follow the leader over TLS")
		waitFor(t, func() bool {
			blobs, _ := filepath.Glob(filepath.Join(joining.dir, "modules", "*.wasm"))
			return len(blobs) == 1
		}, "the new master to copy the module over https")
	})
	t.Run("raft strangers", func(t *testing.T) {
		testRaftStrangers(t, c, masterFiles)
		// The cluster is undisturbed: it still serves, through any master.
		if out, stderr, code := runCLI(t, withCA("agents", "--master", all)...); code != 0 || !strings.Contains(out, "ACTIVE") {
			t.Fatalf("after the strangers: exit %d\n%s%s", code, out, stderr)
		}
	})
}

// strangerLayer is a raft stream layer that only dials, as a stranger
// would reach a master's raft.
type strangerLayer struct {
	dial func(addr string) (net.Conn, error)
	done chan struct{}
}

func (d *strangerLayer) Accept() (net.Conn, error) { <-d.done; return nil, net.ErrClosed }
func (d *strangerLayer) Close() error              { close(d.done); return nil }
func (d *strangerLayer) Addr() net.Addr            { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }
func (d *strangerLayer) Dial(a raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	return d.dial(string(a))
}

// testRaftStrangers sends AppendEntries with a far higher term to every
// master from peers that are not members: plain raft, raft over TLS
// without a client certificate, and with one from another CA. Each must
// fail; were one accepted, its term would depose the leader.
func testRaftStrangers(t *testing.T, c *replicatedCluster, members tlstest.Files) {
	caPEM, err := os.ReadFile(members.CA)
	if err != nil {
		t.Fatal(err)
	}
	anonymous, err := tlsconf.Parse(nil, nil, caPEM)
	if err != nil {
		t.Fatal(err)
	}
	other := tlstest.NewCA(t, "stranger CA")
	cert, key := other.Issue(t, []string{"127.0.0.1"})
	foreign, err := tlsconf.Parse(cert, key, caPEM)
	if err != nil {
		t.Fatal(err)
	}
	overTLS := func(id *tlsconf.Identity) func(string) (net.Conn, error) {
		cfg := id.Client()
		cfg.NextProtos = []string{tlsconf.RaftProtocol}
		return func(a string) (net.Conn, error) { return tls.Dial("tcp", a, cfg) }
	}
	for _, s := range []struct {
		name string
		dial func(string) (net.Conn, error)
	}{
		{"plain raft", func(a string) (net.Conn, error) {
			conn, err := net.Dial("tcp", a)
			if err == nil {
				_, err = conn.Write([]byte{0xF7}) // the plain mux's raft byte
			}
			return conn, err
		}},
		{"TLS without a client certificate", overTLS(anonymous)},
		{"TLS with a certificate from another CA", overTLS(foreign)},
	} {
		for _, m := range c.masters {
			trans := raft.NewNetworkTransport(&strangerLayer{dial: s.dial, done: make(chan struct{})}, 1, 5*time.Second, io.Discard)
			req := &raft.AppendEntriesRequest{
				RPCHeader: raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax, ID: []byte("stranger"), Addr: []byte("127.0.0.1:1")},
				Term:      1 << 40, Leader: []byte("127.0.0.1:1"),
			}
			var resp raft.AppendEntriesResponse
			err := trans.AppendEntries("stranger", raft.ServerAddress(m.addr), req, &resp)
			trans.Close()
			if err == nil {
				t.Errorf("%s: master %s accepted AppendEntries: %+v", s.name, m.addr, resp)
			}
		}
	}
}
