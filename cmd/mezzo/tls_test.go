package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mezzo-cluster/mezzo/api/tlsconf/tlstest"
)

// TestTLSStartupErrors starts daemons and clients with bad TLS flags:
// each refuses to start with an error that says what is wrong.
func TestTLSStartupErrors(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "test CA")
	good := ca.WriteFiles(t, dir, "good", []string{"127.0.0.1"})
	expired := ca.WriteFiles(t, dir, "expired", []string{"127.0.0.1"}, tlstest.Expired())
	serverOnly := ca.WriteFiles(t, dir, "server-only", []string{"127.0.0.1"}, tlstest.ServerOnly())
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not a certificate\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	unreadable := filepath.Join(dir, "no-such.pem")
	work := filepath.Join(dir, "work")
	for _, daemon := range []string{"master", "agent"} {
		for _, tc := range []struct {
			name string
			args []string
			want string
		}{
			{"cert without key", []string{"--tls-cert", good.Cert, "--tls-ca", good.CA}, "--tls-cert needs --tls-key"},
			{"key without cert", []string{"--tls-key", good.Key, "--tls-ca", good.CA}, "--tls-key needs --tls-cert"},
			{"no CA", []string{"--tls-cert", good.Cert, "--tls-key", good.Key}, "needs --tls-cert, --tls-key and --tls-ca"},
			{"CA only", []string{"--tls-ca", good.CA}, "needs --tls-cert, --tls-key and --tls-ca"},
			{"unreadable cert", []string{"--tls-cert", unreadable, "--tls-key", good.Key, "--tls-ca", good.CA}, "--tls-cert: open " + unreadable},
			{"unreadable key", []string{"--tls-cert", good.Cert, "--tls-key", unreadable, "--tls-ca", good.CA}, "--tls-key: open " + unreadable},
			{"unreadable CA", []string{"--tls-cert", good.Cert, "--tls-key", good.Key, "--tls-ca", unreadable}, "--tls-ca: open " + unreadable},
			{"invalid cert", []string{"--tls-cert", garbage, "--tls-key", good.Key, "--tls-ca", good.CA}, "certificate: not PEM"},
			{"invalid key", []string{"--tls-cert", good.Cert, "--tls-key", garbage, "--tls-ca", good.CA}, "key: not PEM"},
			{"invalid CA", []string{"--tls-cert", good.Cert, "--tls-key", good.Key, "--tls-ca", garbage}, "CA: not PEM certificates"},
			{"key of another cert", []string{"--tls-cert", good.Cert, "--tls-key", expired.Key, "--tls-ca", good.CA}, "certificate and key"},
			{"not valid for the address", []string{"--host", "127.0.0.2", "--tls-cert", good.Cert, "--tls-key", good.Key, "--tls-ca", good.CA}, "not valid for the address 127.0.0.2"},
			{"expired", []string{"--tls-cert", expired.Cert, "--tls-key", expired.Key, "--tls-ca", expired.CA}, "not now"},
			{"server auth only", []string{"--tls-cert", serverOnly.Cert, "--tls-key", serverOnly.Key, "--tls-ca", serverOnly.CA}, "clientAuth"},
		} {
			t.Run(daemon+"/"+tc.name, func(t *testing.T) {
				root := newRoot()
				root.SetArgs(append([]string{daemon, "--port", "0", "--work-dir", work}, tc.args...))
				err := root.Execute()
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("mezzo %s %v: %v, want an error containing %q", daemon, tc.args, err, tc.want)
				}
			})
		}
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"dev refuses TLS", []string{"dev", "--port", "0", "--agent-port", "0", "--work-dir", work, "--tls-ca", good.CA}, "mezzo dev serves plain HTTP"},
		{"client with an invalid CA", []string{"agents", "--master", "127.0.0.1:1", "--tls-ca", garbage}, "CA: not PEM certificates"},
		{"client with a cert but no key", []string{"agents", "--master", "127.0.0.1:1", "--tls-cert", good.Cert}, "--tls-cert needs --tls-key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := newRoot()
			root.SetArgs(tc.args)
			err := root.Execute()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("mezzo %v: %v, want an error containing %q", tc.args, err, tc.want)
			}
		})
	}
}
