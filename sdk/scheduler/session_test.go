package scheduler

import (
	"net/url"
	"testing"
)

func TestLeaderBase(t *testing.T) {
	tests := []struct {
		name, base, loc, want string
	}{
		{name: "protocol-relative", base: "http://m1:5050", loc: "//m2:5050/api/v1/scheduler", want: "http://m2:5050"},
		{name: "keeps the scheme", base: "https://m1:5050", loc: "//m2:5050/api/v1/scheduler", want: "https://m2:5050"},
		{name: "absolute", base: "http://m1:5050", loc: "http://m2:5051/api/v1/scheduler", want: "http://m2:5051"},
		{name: "prefix", base: "http://m1:5050/master", loc: "//m2:5050/master/api/v1/scheduler", want: "http://m2:5050/master"},
		{name: "host only, as /redirect answers", base: "http://m1:5050", loc: "//m2:5050", want: "http://m2:5050"},
		{name: "bare host and port", base: "http://m1:5050", loc: "m2:5050", want: "http://m2:5050"},
		{name: "empty", base: "http://m1:5050", loc: ""},
		{name: "path only", base: "http://m1:5050", loc: "/api/v1/scheduler", want: "http://m1:5050"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := leaderBase(tt.base, tt.loc)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("leaderBase(%q) = %q, want an error", tt.loc, got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("leaderBase(%q) = %q, %v; want %q", tt.loc, got, err, tt.want)
			}
		})
	}
}

// FuzzLeaderBase feeds Location headers, which come from the network:
// leaderBase must not panic, and what it returns must be a usable base URL.
func FuzzLeaderBase(f *testing.F) {
	for _, s := range []string{"//m2:5050/api/v1/scheduler", "m2:5050", "http://[::1]:5050", "/x", "//", "::", "%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, loc string) {
		base, err := leaderBase("http://m1:5050", loc)
		if err != nil {
			return
		}
		u, err := url.Parse(base + "/api/v1/scheduler")
		if err != nil || u.Host == "" {
			t.Fatalf("leaderBase(%q) = %q, not a base URL: %v", loc, base, err)
		}
	})
}
