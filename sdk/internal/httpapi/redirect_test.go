package httpapi

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

func TestCheckRedirect(t *testing.T) {
	tests := []struct {
		name, from, to string
		tls            bool
		want           error  // nil: allowed
		wantText       string // else a substring of the error
	}{
		{name: "http to http", from: "http://m1:5050/api/v1", to: "http://m2:5050/api/v1"},
		{name: "https to https", from: "https://m1:5050/api/v1", to: "https://m2:5050/api/v1"},
		{name: "http to https", from: "http://m1:5050/api/v1", to: "https://m2:5050/api/v1"},
		{name: "TLS configured, https to https", from: "https://m1:5050/api/v1", to: "https://m2:5050/api/v1", tls: true},
		{name: "https to http", from: "https://m1:5050/api/v1", to: "http://m2:5050/api/v1", want: ErrInsecureRedirect},
		{name: "https to http on the same host", from: "https://m1:5050/api/v1", to: "http://m1:5050/api/v1", want: ErrInsecureRedirect},
		{name: "TLS configured, http to http", from: "http://m1:5050/api/v1", to: "http://m2:5050/api/v1", tls: true, want: ErrInsecureRedirect},
		{name: "another scheme", from: "http://m1:5050/api/v1", to: "ftp://m2/api/v1", wantText: `unsupported scheme "ftp"`},
		{name: "no scheme", from: "http://m1:5050/api/v1", to: "//m2/api/v1", wantText: "unsupported scheme"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			from, err := url.Parse(tt.from)
			if err != nil {
				t.Fatal(err)
			}
			to, err := url.Parse(tt.to)
			if err != nil {
				t.Fatal(err)
			}
			err = CheckRedirect(from, to, tt.tls)
			switch {
			case tt.want == nil && tt.wantText == "":
				if err != nil {
					t.Fatalf("CheckRedirect: %v, want it allowed", err)
				}
			case tt.want != nil && !errors.Is(err, tt.want):
				t.Fatalf("CheckRedirect: %v, want %v", err, tt.want)
			case tt.wantText != "" && (err == nil || !strings.Contains(err.Error(), tt.wantText)):
				t.Fatalf("CheckRedirect: %v, want an error saying %q", err, tt.wantText)
			}
		})
	}
}
