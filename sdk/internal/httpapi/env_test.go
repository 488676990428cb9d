package httpapi

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mezzo-cluster/mezzo/api/tlsconf/tlstest"
)

func TestConnectionFromEnv(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "test CA")
	files := ca.WriteFiles(t, dir, "client", []string{"client"})
	secretFile := filepath.Join(dir, "secret")
	if err := os.WriteFile(secretFile, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name          string
		env           map[string]string
		principal     string
		secret        string
		tls, clientCA bool // TLS set; a client certificate in it
		errHas        string
	}{
		{name: "nothing", env: nil},
		{name: "principal and secret", env: map[string]string{"MEZZO_PRINCIPAL": "web", "MEZZO_SECRET": "s"}, principal: "web", secret: "s"},
		{name: "secret file wins", env: map[string]string{"MEZZO_PRINCIPAL": "web", "MEZZO_SECRET": "s", "MEZZO_SECRET_FILE": secretFile}, principal: "web", secret: "from-file"},
		{name: "a secret alone is ignored", env: map[string]string{"MEZZO_SECRET": "s"}},
		{name: "principal without secret", env: map[string]string{"MEZZO_PRINCIPAL": "web"}, errHas: "MEZZO_PRINCIPAL needs a secret"},
		{name: "secret file without principal", env: map[string]string{"MEZZO_SECRET_FILE": secretFile}, errHas: "MEZZO_SECRET_FILE needs MEZZO_PRINCIPAL"},
		{name: "unreadable secret file", env: map[string]string{"MEZZO_PRINCIPAL": "web", "MEZZO_SECRET_FILE": filepath.Join(dir, "none")}, errHas: "MEZZO_SECRET_FILE"},
		{name: "CA only", env: map[string]string{"MEZZO_TLS_CA": files.CA}, tls: true},
		{name: "client certificate", env: map[string]string{"MEZZO_TLS_CA": files.CA, "MEZZO_TLS_CERT": files.Cert, "MEZZO_TLS_KEY": files.Key}, tls: true, clientCA: true},
		{name: "certificate without key", env: map[string]string{"MEZZO_TLS_CA": files.CA, "MEZZO_TLS_CERT": files.Cert}, errHas: "go together"},
		{name: "CA not PEM", env: map[string]string{"MEZZO_TLS_CA": notPEM}, errHas: "MEZZO_TLS_CA"},
		{name: "CA missing", env: map[string]string{"MEZZO_TLS_CA": filepath.Join(dir, "none")}, errHas: "MEZZO_TLS_CA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ConnectionFromEnv(func(k string) string { return tt.env[k] })
			if tt.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("err %v, want one naming %q", err, tt.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Principal != tt.principal || c.Secret != tt.secret {
				t.Errorf("credential %q/%q, want %q/%q", c.Principal, c.Secret, tt.principal, tt.secret)
			}
			if (c.TLS != nil) != tt.tls {
				t.Fatalf("TLS %v, want set: %v", c.TLS, tt.tls)
			}
			if tt.tls && (c.TLS.RootCAs == nil || (len(c.TLS.Certificates) == 1) != tt.clientCA) {
				t.Errorf("TLS roots %v, %d client certificates; want the CA and a certificate: %v", c.TLS.RootCAs, len(c.TLS.Certificates), tt.clientCA)
			}
		})
	}
}
