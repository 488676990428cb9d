package simagent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/master"
)

func TestConfigValidate(t *testing.T) {
	res := api.Resources{api.ScalarResource("cpus", 1)}
	tests := []struct {
		name string
		cfg  Config
		want string // in the error; "" for none
	}{
		{name: "ok", cfg: Config{Master: "m:1", Agents: 1, Resources: res}},
		{name: "forever", cfg: Config{Master: "m:1", Agents: 1, Resources: res, TaskDuration: Forever}},
		{name: "no master", cfg: Config{Agents: 1, Resources: res}, want: "Master"},
		{name: "no agents", cfg: Config{Master: "m:1", Resources: res}, want: "Agents"},
		{name: "no resources", cfg: Config{Master: "m:1", Agents: 1}, want: "Resources"},
		{name: "negative duration", cfg: Config{Master: "m:1", Agents: 1, Resources: res, TaskDuration: -2}, want: "TaskDuration"},
		{name: "negative senders", cfg: Config{Master: "m:1", Agents: 1, Resources: res, Senders: -1}, want: "Senders"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("Validate = %v, want an error naming %s", err, tt.want)
			}
		})
	}
}

func TestRecordReader(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []string
		wantErr bool
	}{
		{name: "two records", in: "3\nabc2\nde", want: []string{"abc", "de"}},
		{name: "bad length", in: "x\nabc", wantErr: true},
		{name: "zero length", in: "0\n", wantErr: true},
		{name: "cut short", in: "5\nab", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rr := newRecordReader(strings.NewReader(tt.in))
			var got []string
			var err error
			for {
				var rec []byte
				if rec, err = rr.next(); err != nil {
					break
				}
				got = append(got, string(rec))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("records %q, want %q", got, tt.want)
			}
			if isEOF := err != nil && err.Error() == "EOF"; isEOF == tt.wantErr {
				t.Errorf("ended with %v, want an error: %v", err, tt.wantErr)
			}
		})
	}
}

// TestResubscribe cuts every agent's connection and checks that each
// subscribes again under the ID the master gave it.
func TestResubscribe(t *testing.T) {
	cfg := master.DefaultConfig()
	cfg.WorkDir = t.TempDir()
	m, err := master.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// The master's event streams leave the HTTP server's hands (they
	// hijack their connections), so the server cannot drop them: the
	// listener keeps every connection to close it as a network would.
	ln := &droppingListener{Listener: newLocalListener(t)}
	srv := httptest.NewUnstartedServer(m.Handler())
	srv.Listener = ln
	srv.Start()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	done := make(chan struct{})
	go func() { m.Run(ctx); close(done) }()
	defer func() { cancel(); <-done; srv.Close() }()

	fleet, err := Start(ctx, Config{
		Master: strings.TrimPrefix(srv.URL, "http://"), Agents: 10,
		Resources: api.Resources{api.ScalarResource("cpus", 2)}, SourceAddrs: []string{"127.0.0.1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer fleet.Close()
	before := fleet.AgentIDs()
	if slices.Contains(before, "") {
		t.Fatalf("agents without IDs after Start: %q", before)
	}
	ln.dropAll()
	deadline := time.Now().Add(30 * time.Second)
	for s := fleet.Stats(); s.Subscriptions < 20 || s.Subscribed < 10; s = fleet.Stats() {
		if time.Now().After(deadline) {
			t.Fatalf("agents did not subscribe again: %+v", s)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if after := fleet.AgentIDs(); !slices.Equal(before, after) {
		t.Errorf("IDs after re-subscribing %q, want %q", after, before)
	}
}

// TestCheckSubscribed checks how an agent reads a SUBSCRIBE answer: a
// standby's 307 names the leader to follow, in Mesos's protocol-relative
// form or as a URL; anything else but 200 is an error saying why.
func TestCheckSubscribed(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		location   string
		body       string
		wantLeader string // a redirect to this leader
		wantErr    string // or an error with this
	}{
		{name: "subscribed", status: http.StatusOK},
		{name: "Mesos's redirect", status: http.StatusTemporaryRedirect, location: "//10.0.0.2:5050/api/v1/agent", wantLeader: "10.0.0.2:5050"},
		{name: "URL redirect", status: http.StatusTemporaryRedirect, location: "http://leader:5050/master/api/v1/agent", wantLeader: "leader:5050"},
		{name: "redirect without a leader", status: http.StatusTemporaryRedirect, location: "/api/v1/agent", wantErr: "names no master"},
		{name: "no leader elected", status: http.StatusServiceUnavailable, body: "No leader elected\n", wantErr: "503 Service Unavailable: No leader elected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := &http.Response{StatusCode: tt.status, Status: fmt.Sprintf("%d %s", tt.status, http.StatusText(tt.status)),
				Header: http.Header{}, Body: io.NopCloser(strings.NewReader(tt.body))}
			if tt.location != "" {
				resp.Header.Set("Location", tt.location)
			}
			err := checkSubscribed(resp)
			var redirect *redirectError
			switch {
			case tt.wantLeader != "":
				if !errors.As(err, &redirect) || redirect.leader != tt.wantLeader {
					t.Errorf("checkSubscribed = %v, want a redirect to %s", err, tt.wantLeader)
				}
			case tt.wantErr != "":
				if err == nil || errors.As(err, &redirect) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("checkSubscribed = %v, want an error with %q", err, tt.wantErr)
				}
			case err != nil:
				t.Errorf("checkSubscribed = %v, want nil", err)
			}
		})
	}
}

// TestConfigMasters checks the list of masters a fleet follows.
func TestConfigMasters(t *testing.T) {
	tests := []struct {
		master string
		want   []string
	}{
		{"m:1", []string{"m:1"}},
		{"a:1, b:2,,c:3 ", []string{"a:1", "b:2", "c:3"}},
		{" , ", nil},
	}
	for _, tt := range tests {
		if got := (Config{Master: tt.master}).masters(); !slices.Equal(got, tt.want) {
			t.Errorf("masters of %q = %q, want %q", tt.master, got, tt.want)
		}
	}
}

// droppingListener remembers the connections it accepts so that a test can
// drop them all at once.
type droppingListener struct {
	net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func (l *droppingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.mu.Lock()
		l.conns = append(l.conns, c)
		l.mu.Unlock()
	}
	return c, err
}

// dropAll closes every connection accepted so far.
func (l *droppingListener) dropAll() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.conns {
		c.Close()
	}
	l.conns = nil
}

func newLocalListener(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// TestPopBatch takes queued updates in order, at most a batch at a time,
// and nothing once the queue is closed.
func TestPopBatch(t *testing.T) {
	q := newSendQueue()
	for i := range 100 {
		q.push(outUpdate{status: api.TaskStatus{TaskID: api.TaskID{Value: fmt.Sprint(i)}}})
	}
	next := 0
	for _, want := range []int{maxBatch, 100 - maxBatch} {
		batch, ok := q.popBatch(maxBatch)
		if !ok || len(batch) != want {
			t.Fatalf("popBatch took %d (ok %v), want %d", len(batch), ok, want)
		}
		for _, u := range batch {
			if u.status.TaskID.Value != fmt.Sprint(next) {
				t.Fatalf("popBatch took update %s, want %d: the order changed", u.status.TaskID.Value, next)
			}
			next++
		}
	}
	done := make(chan bool)
	go func() {
		_, ok := q.popBatch(maxBatch)
		done <- ok
	}()
	q.close()
	if <-done {
		t.Fatal("popBatch on an empty, closed queue reported an update")
	}
}
