package auth

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

func TestAuthenticate(t *testing.T) {
	creds, err := Parse([]byte(`{"credentials": [
		{"principal": "web", "secret": "s3cret"},
		{"principal": "ci", "token": "tok-123"},
		{"principal": "both", "secret": "pw", "token": "tok-456"}
	]}`))
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(creds)
	if err != nil {
		t.Fatal(err)
	}
	basic := func(p, s string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(p+":"+s)) }
	tests := []struct {
		header string
		want   string
		err    error
	}{
		{"", "", ErrNoCredentials},
		{basic("web", "s3cret"), "web", nil},
		{"basic " + base64.StdEncoding.EncodeToString([]byte("web:s3cret")), "web", nil},
		{basic("web", "wrong"), "", ErrBadCredentials},
		{basic("web", ""), "", ErrBadCredentials},
		{basic("nobody", ""), "", ErrBadCredentials},
		{basic("ci", ""), "", ErrBadCredentials}, // ci has a token, no secret
		{basic("both", "pw"), "both", nil},
		{"Bearer tok-123", "ci", nil},
		{"Bearer tok-456", "both", nil},
		{"Bearer s3cret", "", ErrBadCredentials},
		{"Bearer ", "", ErrBadCredentials},
		{"Basic %%%", "", ErrBadCredentials},
		{"Basic " + base64.StdEncoding.EncodeToString([]byte("no-colon")), "", ErrBadCredentials},
		{"Digest x", "", ErrBadCredentials},
	}
	for _, tt := range tests {
		r, _ := http.NewRequest("GET", "/", nil)
		if tt.header != "" {
			r.Header.Set("Authorization", tt.header)
		}
		got, err := a.Authenticate(r)
		if got != tt.want || !errors.Is(err, tt.err) {
			t.Errorf("Authorization %q: %q, %v; want %q, %v", tt.header, got, err, tt.want, tt.err)
		}
	}
}

func TestParse(t *testing.T) {
	creds, err := Parse([]byte("# principals\nweb s3cret\n\n  ops   pa55  \n"))
	if err != nil || len(creds) != 2 || creds[1] != (Credential{Principal: "ops", Secret: "pa55"}) {
		t.Fatalf("text form: %v, %+v", err, creds)
	}
	for _, bad := range []string{
		"web\n",
		"web s3cret extra\n",
		`{"credentials": [{"principal": "web", "secret": "x", "role": "admin"}]}`,
		`{"credentials": [`,
	} {
		if _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("Parse(%q) succeeded", bad)
		}
	}
	for _, bad := range [][]Credential{
		{{Principal: "", Secret: "x"}},
		{{Principal: "a:b", Secret: "x"}},
		{{Principal: "a"}},
		{{Principal: "a", Secret: "x"}, {Principal: "a", Secret: "y"}},
		{{Principal: "a", Token: "t"}, {Principal: "b", Token: "t"}},
	} {
		if _, err := New(bad); err == nil {
			t.Errorf("New(%+v) succeeded", bad)
		}
	}
}

func TestErrorsNeverShowSecrets(t *testing.T) {
	_, err := Parse([]byte("web s3cret-value extra\n"))
	if err == nil || strings.Contains(err.Error(), "s3cret-value") {
		t.Fatalf("error %v shows the secret", err)
	}
	_, err = New([]Credential{{Principal: "a", Token: "tok-value"}, {Principal: "b", Token: "tok-value"}})
	if err == nil || strings.Contains(err.Error(), "tok-value") {
		t.Fatalf("error %v shows the token", err)
	}
}

// FuzzAuthenticate checks that no Authorization header makes
// authentication panic or let anyone in without the right secret.
func FuzzAuthenticate(f *testing.F) {
	a, _ := New([]Credential{{Principal: "web", Secret: "s3cret", Token: "tok"}})
	for _, h := range []string{"Basic d2ViOnMzY3JldA==", "Bearer tok", "Basic", "Bearer", "basic ==", "Basic d2ViOg==", " ", "Basic \x00"} {
		f.Add(h)
	}
	f.Fuzz(func(t *testing.T, header string) {
		r, _ := http.NewRequest("GET", "/", nil)
		r.Header["Authorization"] = []string{header}
		p, err := a.Authenticate(r)
		if err != nil {
			return
		}
		scheme, value, _ := strings.Cut(header, " ")
		value = strings.TrimSpace(value)
		ok := strings.EqualFold(scheme, "bearer") && value == "tok"
		if raw, derr := base64.StdEncoding.DecodeString(value); derr == nil && strings.EqualFold(scheme, "basic") && string(raw) == "web:s3cret" {
			ok = true
		}
		if !ok || p != "web" {
			t.Fatalf("header %q authenticated as %q", header, p)
		}
	})
}

// FuzzParse checks that no credentials file makes parsing panic.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"credentials": [{"principal": "web", "secret": "s"}]}`))
	f.Add([]byte("web s\n# comment\nops t\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		creds, err := Parse(data)
		if err == nil {
			New(creds)
		}
	})
}

// TestVerify checks the login form's path to the credentials: the right
// secret proves its principal, anything else is ErrBadCredentials.
func TestVerify(t *testing.T) {
	a, err := New([]Credential{{Principal: "ops", Secret: "s3cret"}, {Principal: "ci", Token: "tok"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		principal, secret string
		ok                bool
	}{
		{"ops", "s3cret", true},
		{"ops", "wrong", false},
		{"ops", "", false},
		{"nobody", "s3cret", false},
		{"ci", "tok", false}, // a token is no secret
		{"ci", "", false},
	} {
		p, err := a.Verify(tt.principal, tt.secret)
		if (err == nil) != tt.ok || (tt.ok && p != tt.principal) || (!tt.ok && !errors.Is(err, ErrBadCredentials)) {
			t.Errorf("Verify(%q, %q) = %q, %v", tt.principal, tt.secret, p, err)
		}
	}
}

// TestPrincipalContext checks the principal a context carries.
func TestPrincipalContext(t *testing.T) {
	if p := PrincipalFrom(context.Background()); p != "" {
		t.Errorf("no principal set: %q", p)
	}
	ctx := WithPrincipal(context.Background(), "ops")
	if p := PrincipalFrom(WithPrincipal(ctx, "web")); p != "web" {
		t.Errorf("the innermost principal: %q, want web", p)
	}
	if p := PrincipalFrom(ctx); p != "ops" {
		t.Errorf("principal %q, want ops", p)
	}
}

// TestTransportHTTPSOnly: a transport set for TLS refuses to carry its
// credential to a plain http URL, sending nothing there, and carries it
// to https; without HTTPSOnly both get it.
func TestTransportHTTPSOnly(t *testing.T) {
	var got atomic.Value
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got.Store(r.Header.Get("Authorization")) })
	plain, secure := httptest.NewServer(handler), httptest.NewTLSServer(handler)
	defer plain.Close()
	defer secure.Close()
	for _, tt := range []struct {
		httpsOnly bool
		url       string
		refused   bool
	}{
		{true, plain.URL, true},
		{true, secure.URL, false},
		{false, plain.URL, false},
	} {
		got.Store("")
		c := &http.Client{Transport: &Transport{Base: secure.Client().Transport, Principal: "ops", Secret: "s3cret", HTTPSOnly: tt.httpsOnly}}
		resp, err := c.Post(tt.url, "text/plain", strings.NewReader("body"))
		if err == nil {
			resp.Body.Close()
		}
		if tt.refused != errors.Is(err, ErrPlainHTTP) {
			t.Errorf("HTTPSOnly %v, %s: %v", tt.httpsOnly, tt.url, err)
		}
		if sent := got.Load().(string) != ""; sent == tt.refused {
			t.Errorf("HTTPSOnly %v, %s: credential sent %v", tt.httpsOnly, tt.url, sent)
		}
	}
}
