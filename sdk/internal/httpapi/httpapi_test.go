package httpapi

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestError(t *testing.T) {
	tests := []struct {
		code      int
		body      string
		want      string
		retryable bool
	}{
		{400, "Framework cannot be found\n", "400 Bad Request: Framework cannot be found", false},
		{403, "", "403 Forbidden: ", false},
		{503, "No leader elected", "503 Service Unavailable: No leader elected", true},
		{404, "", "404 Not Found: ", true},
		{429, "slow down", "429 Too Many Requests: slow down", true},
	}
	for _, tt := range tests {
		resp := &http.Response{StatusCode: tt.code, Body: io.NopCloser(strings.NewReader(tt.body))}
		e := ReadError(resp)
		if e.Error() != tt.want || e.Retryable() != tt.retryable {
			t.Errorf("ReadError(%d, %q) = %q, retryable %v; want %q, %v", tt.code, tt.body, e.Error(), e.Retryable(), tt.want, tt.retryable)
		}
	}
	long := strings.Repeat("x", 10000)
	if e := ReadError(&http.Response{StatusCode: 500, Body: io.NopCloser(strings.NewReader(long))}); len(e.Message) != 4096 {
		t.Errorf("message of %d bytes, want it cut at 4096", len(e.Message))
	}
}

func TestBaseURL(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:5050":         "http://127.0.0.1:5050",
		"http://m:5050/":         "http://m:5050",
		"https://m.example:5050": "https://m.example:5050",
	} {
		if got := BaseURL(in); got != want {
			t.Errorf("BaseURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestBackoff(t *testing.T) {
	min, max := 100*time.Millisecond, 2*time.Second
	for failures, want := range map[int]time.Duration{0: min, 1: 2 * min, 3: 8 * min, 10: max, 1000: max} {
		for range 50 {
			got := Backoff(failures, min, max)
			if got < want/2 || got > want {
				t.Fatalf("Backoff(%d) = %v, want within [%v, %v]", failures, got, want/2, want)
			}
		}
	}
}
