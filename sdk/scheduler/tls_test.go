package scheduler_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/api/tlsconf"
	"github.com/mezzo-cluster/mezzo/api/tlsconf/tlstest"
	"github.com/mezzo-cluster/mezzo/master"
	"github.com/mezzo-cluster/mezzo/sdk/operator"
	"github.com/mezzo-cluster/mezzo/sdk/scheduler"
)

// startTLSMaster serves a real master over HTTPS with a certificate from
// ca and returns its HOST:PORT.
func startTLSMaster(t *testing.T, ca *tlstest.CA) string {
	t.Helper()
	cert, key := ca.Issue(t, []string{"127.0.0.1"})
	id, err := tlsconf.Parse(cert, key, ca.PEM())
	if err != nil {
		t.Fatal(err)
	}
	cfg := master.DefaultConfig()
	cfg.WorkDir = t.TempDir()
	m, err := master.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(m.Handler())
	srv.TLS = id.Server()
	srv.StartTLS()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); srv.Close(); <-done })
	return strings.TrimPrefix(srv.URL, "https://")
}

var errSubscribed = errors.New("subscribed")

// TestTLS subscribes a framework, and calls the operator API, over
// HTTPS given as HOST:PORT: with the master's CA both get through; with
// the system pool, or plain HTTP, they fail saying why.
func TestTLS(t *testing.T) {
	ca := tlstest.NewCA(t, "sdk CA")
	addr := startTLSMaster(t, ca)
	withCA, err := tlsconf.Parse(nil, nil, ca.PEM())
	if err != nil {
		t.Fatal(err)
	}
	systemPool, err := tlsconf.Parse(nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		id   *tlsconf.Identity // nil: plain HTTP
		want string            // "" for success
	}{
		{"the master's CA", withCA, ""},
		{"the system pool", systemPool, "certificate signed by unknown authority"},
		{"plain HTTP", nil, "Client sent an HTTP request to an HTTPS server"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := framework(addr)
			cfg.MaxFailures = 1
			var opts []operator.Option
			if tc.id != nil {
				cfg.TLS = tc.id.Client()
				opts = append(opts, operator.WithTLS(tc.id.Client()))
			}
			err := scheduler.New(cfg).Run(context.Background(), func(_ context.Context, ev *api.Event) error {
				if ev.Type == api.EventSubscribed {
					return errSubscribed
				}
				return nil
			})
			_, opErr := operator.New(addr, opts...).Agents(context.Background())
			if tc.want == "" {
				if !errors.Is(err, errSubscribed) || opErr != nil {
					t.Fatalf("Run: %v (want a subscription); GET_AGENTS: %v", err, opErr)
				}
				return
			}
			for what, err := range map[string]error{"Run": err, "GET_AGENTS": opErr} {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("%s: %v, want an error containing %q", what, err, tc.want)
				}
			}
		})
	}
}
