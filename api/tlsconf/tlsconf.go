package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"
)

// RaftProtocol is the ALPN protocol name a master offers when it dials a
// peer for raft. HTTPS clients offer "h2" and "http/1.1"; the master's
// shared port hands a connection that negotiated RaftProtocol to raft and
// every other one to its HTTP server.
const RaftProtocol = "mezzo-raft"

// Identity is what a daemon or client proves itself with and trusts: its
// own certificate (nil for a client without one) and the CAs it verifies
// peers against (nil for the system pool).
type Identity struct {
	// Cert is the certificate chain and key presented to peers; nil when
	// none was given.
	Cert *tls.Certificate
	// Roots verifies servers, and clients that present a certificate;
	// nil means the system pool (servers then verify no client
	// certificates).
	Roots *x509.CertPool
}

// Parse builds an Identity from PEM bytes. certPEM and keyPEM go
// together (both or neither); caPEM may be empty for the system pool.
// Errors say which of the three is at fault.
func Parse(certPEM, keyPEM, caPEM []byte) (*Identity, error) {
	id := &Identity{}
	switch {
	case len(certPEM) > 0 && len(keyPEM) == 0:
		return nil, errors.New("a certificate needs its key")
	case len(certPEM) == 0 && len(keyPEM) > 0:
		return nil, errors.New("a key needs its certificate")
	case len(certPEM) > 0:
		if _, err := firstCertificate(certPEM); err != nil {
			return nil, fmt.Errorf("certificate: %w", err)
		}
		if err := checkKeyPEM(keyPEM); err != nil {
			return nil, fmt.Errorf("key: %w", err)
		}
		c, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, fmt.Errorf("certificate and key: %w", err)
		}
		id.Cert = &c
	}
	if len(caPEM) > 0 {
		roots, err := ParseCA(caPEM)
		if err != nil {
			return nil, err
		}
		id.Roots = roots
	}
	return id, nil
}

// ParseCA reads one or more PEM certificates into a pool, refusing input
// that holds none or holds anything else.
func ParseCA(caPEM []byte) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	rest, n := caPEM, 0
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("CA: a %q PEM block where certificates were expected", b.Type)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("CA: certificate %d: %w", n+1, err)
		}
		pool.AddCert(c)
		n++
	}
	if n == 0 || strings.TrimSpace(string(rest)) != "" {
		return nil, errors.New("CA: not PEM certificates")
	}
	return pool, nil
}

// firstCertificate parses the leaf of a PEM chain.
func firstCertificate(certPEM []byte) (*x509.Certificate, error) {
	b, _ := pem.Decode(certPEM)
	if b == nil {
		return nil, errors.New("not PEM")
	}
	if b.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("a %q PEM block where a certificate was expected", b.Type)
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// checkKeyPEM says what is wrong with a key file before tls.X509KeyPair
// gives its less specific answer.
func checkKeyPEM(keyPEM []byte) error {
	b, _ := pem.Decode(keyPEM)
	if b == nil {
		return errors.New("not PEM")
	}
	if !strings.HasSuffix(b.Type, "PRIVATE KEY") {
		return fmt.Errorf("a %q PEM block where a private key was expected", b.Type)
	}
	return nil
}

// CheckDaemon reports why id cannot serve a master or an agent on host:
// it needs a certificate and a CA; the certificate must be within its
// validity period, chain to the CA, be valid for host (unless host is an
// unspecified address such as 0.0.0.0), and allow both server and
// client authentication — a daemon is a server, and a client of masters,
// peers and agents that verify the certificates they are shown.
func (id *Identity) CheckDaemon(host string) error {
	if id.Cert == nil {
		return errors.New("a daemon needs a certificate and key to serve TLS")
	}
	if id.Roots == nil {
		return errors.New("a daemon needs the cluster's CA, to verify its peers")
	}
	leaf, err := x509.ParseCertificate(id.Cert.Certificate[0])
	if err != nil {
		return fmt.Errorf("certificate: %w", err)
	}
	now := time.Now()
	if now.Before(leaf.NotBefore) || now.After(leaf.NotAfter) {
		return fmt.Errorf("certificate %q is valid from %s to %s, not now", leaf.Subject, leaf.NotBefore.Format(time.RFC3339), leaf.NotAfter.Format(time.RFC3339))
	}
	inter := x509.NewCertPool()
	for _, der := range id.Cert.Certificate[1:] {
		if c, err := x509.ParseCertificate(der); err == nil {
			inter.AddCert(c)
		}
	}
	for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
		opts := x509.VerifyOptions{Roots: id.Roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{usage}}
		if _, err := leaf.Verify(opts); err != nil {
			return fmt.Errorf("certificate %q does not verify against the CA for %s: %w", leaf.Subject, usageName(usage), err)
		}
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		return nil
	}
	if err := leaf.VerifyHostname(host); err != nil {
		return fmt.Errorf("certificate is not valid for the address %s that clients will use (its names: %s): %w", host, certNames(leaf), err)
	}
	return nil
}

func usageName(u x509.ExtKeyUsage) string {
	if u == x509.ExtKeyUsageServerAuth {
		return "server authentication (serverAuth)"
	}
	return "client authentication (clientAuth), which masters and agents use towards each other"
}

// certNames lists the DNS names and IP addresses a certificate is for.
func certNames(c *x509.Certificate) string {
	names := slices.Clone(c.DNSNames)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// Server returns the configuration of a daemon's listener: its
// certificate, and clients' certificates verified against Roots when
// they present one (raft then insists on one; see the registry's Mux).
// HTTP/2 and HTTP/1.1 are offered, and RaftProtocol, which only a
// master's shared port accepts.
func (id *Identity) Server() *tls.Config {
	cfg := &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"h2", "http/1.1"},
	}
	if id.Cert != nil {
		cfg.Certificates = []tls.Certificate{*id.Cert}
	}
	if id.Roots != nil {
		cfg.ClientCAs = id.Roots
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
	}
	return cfg
}

// Client returns the configuration of calls to masters, agents and peers:
// servers verified against Roots (or the system pool), and the
// certificate presented when one was given.
func (id *Identity) Client() *tls.Config {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: id.Roots}
	if id.Cert != nil {
		cfg.Certificates = []tls.Certificate{*id.Cert}
	}
	return cfg
}

// Transport returns a clone of http.DefaultTransport that dials with
// cfg (nil: the default transport's own), trying HTTP/2 as the default
// transport does.
func Transport(cfg *tls.Config) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	if cfg != nil {
		t.TLSClientConfig = cfg.Clone()
		t.ForceAttemptHTTP2 = true
	}
	return t
}

// BaseURL turns HOST:PORT into https://HOST:PORT when secure, else
// http://HOST:PORT, and leaves URLs (anything with "://") alone but for a
// trailing slash.
func BaseURL(addr string, secure bool) string {
	if strings.Contains(addr, "://") {
		return strings.TrimRight(addr, "/")
	}
	if secure {
		return "https://" + addr
	}
	return "http://" + addr
}

// Explain wraps err, when it is a failed verification of a server's
// certificate, with what to do about it; other errors come back
// unchanged. Clients call it on the errors they show people.
func Explain(err error) error {
	if err == nil {
		return nil
	}
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	var invalid x509.CertificateInvalidError
	var verify *tls.CertificateVerificationError
	switch {
	case errors.As(err, &unknown):
		return fmt.Errorf("TLS: the server's certificate is signed by an authority this client does not trust; give the cluster's CA (--tls-ca or MEZZO_TLS_CA): %w", err)
	case errors.As(err, &host):
		return fmt.Errorf("TLS: the server's certificate is not valid for the address dialled; use a name or IP address it lists: %w", err)
	case errors.As(err, &invalid), errors.As(err, &verify):
		return fmt.Errorf("TLS: the server's certificate failed verification: %w", err)
	case strings.Contains(err.Error(), "Client sent an HTTP request to an HTTPS server"):
		return fmt.Errorf("TLS: the server serves HTTPS only; give the cluster's CA (--tls-ca or MEZZO_TLS_CA), or use https://: %w", err)
	case strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return fmt.Errorf("TLS: the server speaks plain HTTP; leave out --tls-ca and --tls-cert, or use http://: %w", err)
	}
	return err
}
