package tlsconf_test

import (
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mezzo-cluster/mezzo/api/tlsconf"
	"github.com/mezzo-cluster/mezzo/api/tlsconf/tlstest"
)

func TestParseRefusesBadInput(t *testing.T) {
	ca := tlstest.NewCA(t, "test CA")
	cert, key := ca.Issue(t, []string{"127.0.0.1"})
	_, otherKey := ca.Issue(t, []string{"127.0.0.1"})
	for _, tc := range []struct {
		name           string
		cert, key, cas []byte
		want           string
	}{
		{"cert without key", cert, nil, ca.PEM(), "a certificate needs its key"},
		{"key without cert", nil, key, ca.PEM(), "a key needs its certificate"},
		{"cert not PEM", []byte("hello"), key, nil, "certificate: not PEM"},
		{"key in the cert's place", key, key, nil, `certificate: a "PRIVATE KEY" PEM block`},
		{"cert in the key's place", cert, cert, nil, `key: a "CERTIFICATE" PEM block`},
		{"key not PEM", cert, []byte("secret"), nil, "key: not PEM"},
		{"key of another cert", cert, otherKey, nil, "certificate and key:"},
		{"CA not PEM", cert, key, []byte("nope"), "CA: not PEM certificates"},
		{"CA holds a key", cert, key, key, `CA: a "PRIVATE KEY" PEM block`},
		{"CA with trailing garbage", cert, key, append(ca.PEM(), "junk"...), "CA: not PEM certificates"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tlsconf.Parse(tc.cert, tc.key, tc.cas)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse: %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestCheckDaemon(t *testing.T) {
	ca := tlstest.NewCA(t, "test CA")
	other := tlstest.NewCA(t, "other CA")
	good, goodKey := ca.Issue(t, []string{"127.0.0.1", "master.test"})
	expired, expiredKey := ca.Issue(t, []string{"127.0.0.1"}, tlstest.Expired())
	serverOnly, serverOnlyKey := ca.Issue(t, []string{"127.0.0.1"}, tlstest.ServerOnly())
	foreign, foreignKey := other.Issue(t, []string{"127.0.0.1"})
	for _, tc := range []struct {
		name      string
		cert, key []byte
		cas       []byte
		host      string
		want      string // "" for success
	}{
		{"valid for the IP", good, goodKey, ca.PEM(), "127.0.0.1", ""},
		{"valid for the name", good, goodKey, ca.PEM(), "master.test", ""},
		{"unspecified address", good, goodKey, ca.PEM(), "0.0.0.0", ""},
		{"not valid for the address", good, goodKey, ca.PEM(), "10.1.2.3", "not valid for the address 10.1.2.3"},
		{"expired", expired, expiredKey, ca.PEM(), "127.0.0.1", "not now"},
		{"server auth only", serverOnly, serverOnlyKey, ca.PEM(), "127.0.0.1", "clientAuth"},
		{"signed by another CA", foreign, foreignKey, ca.PEM(), "127.0.0.1", "does not verify against the CA"},
		{"no CA", good, goodKey, nil, "127.0.0.1", "needs the cluster's CA"},
		{"no certificate", nil, nil, ca.PEM(), "127.0.0.1", "needs a certificate and key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, err := tlsconf.Parse(tc.cert, tc.key, tc.cas)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			err = id.CheckDaemon(tc.host)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("CheckDaemon: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("CheckDaemon: %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// TestHandshakes runs real HTTPS servers and clients built from
// identities and checks who gets through.
func TestHandshakes(t *testing.T) {
	ca := tlstest.NewCA(t, "test CA")
	other := tlstest.NewCA(t, "other CA")
	server := mustParse(t, ca, ca, true)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.TLS.VerifiedChains) > 0 {
			w.Write([]byte("verified"))
			return
		}
		w.Write([]byte("anonymous"))
	}))
	srv.TLS = server.Server()
	srv.StartTLS()
	defer srv.Close()

	for _, tc := range []struct {
		name   string
		client *tlsconf.Identity
		want   string // the body, or the start of Explain's error
	}{
		{"CA and certificate", mustParse(t, ca, ca, true), "verified"},
		{"CA only", mustParse(t, nil, ca, false), "anonymous"},
		{"system pool", mustParse(t, nil, nil, false), "TLS: the server's certificate is signed by an authority this client does not trust"},
		{"another CA", mustParse(t, nil, other, false), "TLS: the server's certificate is signed by an authority"},
		// A client does not present a certificate the server's CAs did
		// not sign: it arrives anonymous.
		{"certificate from another CA", mustParse(t, other, ca, true), "anonymous"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &http.Client{Transport: tlsconf.Transport(tc.client.Client())}
			resp, err := c.Get(srv.URL)
			if err != nil {
				if got := tlsconf.Explain(err).Error(); !strings.Contains(got, tc.want) {
					t.Fatalf("GET: %v, want %q", got, tc.want)
				}
				return
			}
			defer resp.Body.Close()
			buf := make([]byte, 64)
			n, _ := resp.Body.Read(buf)
			if string(buf[:n]) != tc.want {
				t.Fatalf("GET: %q, want %q", buf[:n], tc.want)
			}
		})
	}
}

// mustParse makes an identity: a certificate for 127.0.0.1 from signer
// (when withCert), trusting roots (nil: the system pool).
func mustParse(t *testing.T, signer, roots *tlstest.CA, withCert bool) *tlsconf.Identity {
	t.Helper()
	var cert, key, cas []byte
	if withCert {
		cert, key = signer.Issue(t, []string{"127.0.0.1"})
	}
	if roots != nil {
		cas = roots.PEM()
	}
	id, err := tlsconf.Parse(cert, key, cas)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return id
}

func TestExplain(t *testing.T) {
	plain := errors.New("connection refused")
	host := &net.OpError{Op: "dial", Err: errors.New("x")}
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"nil", nil, ""},
		{"unrelated", plain, "connection refused"},
		{"unrelated net error", host, "dial: x"},
		{"plain server", errors.New(`Get "https://x": http: server gave HTTP response to HTTPS client`), "TLS: the server speaks plain HTTP"},
		{"plain client", errors.New("GET_AGENTS: 400 Bad Request: Client sent an HTTP request to an HTTPS server."), "TLS: the server serves HTTPS only"},
		{"verification", &tls.CertificateVerificationError{Err: errors.New("bad")}, "TLS: the server's certificate failed verification"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tlsconf.Explain(tc.err)
			if (got == nil) != (tc.want == "") || (got != nil && !strings.HasPrefix(got.Error(), tc.want)) {
				t.Fatalf("Explain: %v, want %q", got, tc.want)
			}
		})
	}
}

func TestBaseURL(t *testing.T) {
	for _, tc := range []struct {
		addr   string
		secure bool
		want   string
	}{
		{"h:5050", false, "http://h:5050"},
		{"h:5050", true, "https://h:5050"},
		{"http://h:5050/", true, "http://h:5050"},
		{"https://h:5050", false, "https://h:5050"},
	} {
		if got := tlsconf.BaseURL(tc.addr, tc.secure); got != tc.want {
			t.Errorf("BaseURL(%q, %v) = %q, want %q", tc.addr, tc.secure, got, tc.want)
		}
	}
}
