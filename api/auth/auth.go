package auth

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Credential is one entry of a credentials file: a principal with a
// secret for HTTP Basic, or a token for "Authorization: Bearer", or both.
type Credential struct {
	Principal string `json:"principal"`
	Secret    string `json:"secret,omitempty"`
	Token     string `json:"token,omitempty"`
}

// Errors of Authenticate, which callers answer with 401.
var (
	// ErrNoCredentials: the request carries no Authorization header.
	ErrNoCredentials = errors.New("authentication required")
	// ErrBadCredentials: it carries one that matches no credential.
	ErrBadCredentials = errors.New("invalid credentials")
)

// Authenticator knows the credentials. It keeps only SHA-256 digests of
// secrets and tokens, so that a memory dump or an accidental print of it
// reveals none, and so that comparisons run in constant time over
// fixed-length values. The zero value knows no one.
type Authenticator struct {
	secrets map[string][sha256.Size]byte // principal → digest of its secret
	tokens  map[[sha256.Size]byte]string // digest of a token → principal
}

// New builds an Authenticator. A principal may appear once; an entry
// needs a secret or a token.
func New(creds []Credential) (*Authenticator, error) {
	a := &Authenticator{secrets: map[string][sha256.Size]byte{}, tokens: map[[sha256.Size]byte]string{}}
	seen := map[string]bool{}
	for i, c := range creds {
		switch {
		case c.Principal == "" || strings.ContainsAny(c.Principal, ": \t\r\n"):
			return nil, fmt.Errorf("credential %d: a principal must be non-empty, without ':' or spaces", i+1)
		case seen[c.Principal]:
			return nil, fmt.Errorf("credential %d: principal %q appears twice", i+1, c.Principal)
		case c.Secret == "" && c.Token == "":
			return nil, fmt.Errorf("credential %d (%s): give a secret, a token or both", i+1, c.Principal)
		}
		seen[c.Principal] = true
		if c.Secret != "" {
			a.secrets[c.Principal] = sha256.Sum256([]byte(c.Secret))
		}
		if c.Token != "" {
			d := sha256.Sum256([]byte(c.Token))
			if other, dup := a.tokens[d]; dup {
				return nil, fmt.Errorf("credential %d (%s): its token is also %s's", i+1, c.Principal, other)
			}
			a.tokens[d] = c.Principal
		}
	}
	return a, nil
}

// Parse reads a credentials file in either of Mesos's forms: JSON,
//
//	{"credentials": [{"principal": "web", "secret": "s3cret"}, {"principal": "ci", "token": "…"}]}
//
// or text, one "principal secret" pair per line (blank lines and lines
// starting with # are skipped). Errors name the line, never a secret.
func Parse(data []byte) ([]Credential, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		var f struct {
			Credentials []Credential `json:"credentials"`
		}
		dec := json.NewDecoder(bytes.NewReader(trimmed))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			return nil, fmt.Errorf("credentials: %w", err)
		}
		return f.Credentials, nil
	}
	var creds []Credential
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 2 {
			return nil, fmt.Errorf("credentials: line %d: want \"principal secret\"", n)
		}
		creds = append(creds, Credential{Principal: fields[0], Secret: fields[1]})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("credentials: %w", err)
	}
	return creds, nil
}

// Authenticate returns the principal a request's Authorization header
// proves, or ErrNoCredentials / ErrBadCredentials.
func (a *Authenticator) Authenticate(r *http.Request) (string, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", ErrNoCredentials
	}
	scheme, value, _ := strings.Cut(h, " ")
	value = strings.TrimSpace(value)
	switch strings.ToLower(scheme) {
	case "basic":
		raw, err := base64.StdEncoding.DecodeString(value)
		if err != nil {
			return "", ErrBadCredentials
		}
		principal, secret, ok := strings.Cut(string(raw), ":")
		if !ok {
			return "", ErrBadCredentials
		}
		return a.verifySecret(principal, secret)
	case "bearer":
		if p, ok := a.tokens[sha256.Sum256([]byte(value))]; ok && value != "" {
			return p, nil
		}
		return "", ErrBadCredentials
	}
	return "", ErrBadCredentials
}

// Verify checks a principal's secret as HTTP Basic would, for a login
// form (the web console's) that receives them otherwise; it returns the
// principal or ErrBadCredentials.
func (a *Authenticator) Verify(principal, secret string) (string, error) {
	return a.verifySecret(principal, secret)
}

// verifySecret compares in constant time, and does the same work for an
// unknown principal, so that timing tells nothing about who exists.
func (a *Authenticator) verifySecret(principal, secret string) (string, error) {
	want, known := a.secrets[principal]
	got := sha256.Sum256([]byte(secret))
	if subtle.ConstantTimeCompare(want[:], got[:]) == 1 && known {
		return principal, nil
	}
	return "", ErrBadCredentials
}

// Challenge is the WWW-Authenticate header value that goes with a 401,
// naming both schemes.
const Challenge = `Basic realm="mezzo", Bearer realm="mezzo"`

// Transport adds a credential to every request it carries: HTTP Basic
// with Principal and Secret, or a bearer Token. It is for clients whose
// every request goes to Mezzo (an agent's link to its masters, the SDK,
// the CLI): never give it to a client that may call third parties, which
// would receive the secret. Base nil means http.DefaultTransport.
type Transport struct {
	Base      http.RoundTripper
	Principal string
	Secret    string
	Token     string
	// HTTPSOnly, set by a client configured for TLS, refuses a request to
	// a plain http URL (ErrPlainHTTP) before anything is sent: a master
	// given as http:// by mistake would otherwise receive the credential
	// unencrypted, where the client's owner asked for TLS.
	HTTPSOnly bool
}

// ErrPlainHTTP is Transport's error for a request to plain http when
// HTTPSOnly is set.
var ErrPlainHTTP = errors.New("refused to send credentials over plain http with TLS configured; use an https:// address or HOST:PORT")

// RoundTrip sends a copy of r with the credential (RoundTrippers must not
// change the request they are given).
func (t *Transport) RoundTrip(r *http.Request) (*http.Response, error) {
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	if t.HTTPSOnly && r.URL.Scheme != "https" {
		if r.Body != nil {
			r.Body.Close() // a RoundTripper closes the body, even on error
		}
		return nil, fmt.Errorf("%s %s: %w", r.Method, r.URL.Redacted(), ErrPlainHTTP)
	}
	r = r.Clone(r.Context())
	switch {
	case t.Token != "":
		r.Header.Set("Authorization", "Bearer "+t.Token)
	case t.Principal != "":
		r.SetBasicAuth(t.Principal, t.Secret)
	}
	return base.RoundTrip(r)
}

// principalKey carries an authenticated principal in a context.
type principalKey struct{}

// WithPrincipal returns a context that says the work done under it is
// done for principal. The master's HTTP API sets it once a request has
// authenticated, and in-process callers that authenticate people
// themselves (the web console) set it before calling the master, so
// that the master applies the same ACLs either way.
func WithPrincipal(ctx context.Context, principal string) context.Context {
	return context.WithValue(ctx, principalKey{}, principal)
}

// PrincipalFrom returns the principal WithPrincipal put in ctx; "" when
// none was (an open master, or an unauthenticated client).
func PrincipalFrom(ctx context.Context) string {
	p, _ := ctx.Value(principalKey{}).(string)
	return p
}
