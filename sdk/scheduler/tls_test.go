package scheduler_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
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

// TestRedirectToPlainHTTPRefused: a master reached over https that
// redirects SUBSCRIBE to plain http is not followed, so the framework's
// credentials never go there; Run says why.
func TestRedirectToPlainHTTPRefused(t *testing.T) {
	tests := []struct {
		name     string
		location string // %s is the plain server's HOST:PORT
		config   func(cfg *scheduler.Config, follower *httptest.Server)
	}{
		{name: "https URL, Config.TLS", location: "http://%s/api/v1/scheduler", config: func(cfg *scheduler.Config, f *httptest.Server) {
			cfg.Masters = []string{f.URL}
			cfg.TLS = f.Client().Transport.(*http.Transport).TLSClientConfig
		}},
		{name: "HOST:PORT, Config.TLS", location: "http://%s", config: func(cfg *scheduler.Config, f *httptest.Server) {
			cfg.Masters = []string{strings.TrimPrefix(f.URL, "https://")}
			cfg.TLS = f.Client().Transport.(*http.Transport).TLSClientConfig
		}},
		{name: "https URL, TLS in HTTPClient", location: "http://%s/api/v1/scheduler", config: func(cfg *scheduler.Config, f *httptest.Server) {
			cfg.Masters = []string{f.URL}
			cfg.HTTPClient = f.Client()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var plainRequests atomic.Int32
			plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				plainRequests.Add(1)
				http.Error(w, "No leader elected", http.StatusServiceUnavailable)
			}))
			t.Cleanup(plain.Close)
			follower := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Location", fmt.Sprintf(tt.location, strings.TrimPrefix(plain.URL, "http://")))
				w.WriteHeader(http.StatusTemporaryRedirect)
			}))
			t.Cleanup(follower.Close)
			cfg := framework()
			tt.config(&cfg, follower)
			cfg.Principal, cfg.Secret = "fw", "s3cret"
			cfg.MaxFailures = 1
			err := scheduler.New(cfg).Run(context.Background(), func(context.Context, *api.Event) error { return nil })
			if !errors.Is(err, scheduler.ErrInsecureRedirect) {
				t.Errorf("Run: %v, want ErrInsecureRedirect", err)
			}
			if n := plainRequests.Load(); n != 0 {
				t.Fatalf("the plain http server got %d requests, with the credentials", n)
			}
		})
	}
}
