package httpapi

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"
)

// Error is returned for a call a master or agent refused: Code is the HTTP
// status (400 invalid call, 401/403 not allowed, 307 not the leader, 503
// no leader or recovering, ...) and Message the server's explanation.
type Error struct {
	Code    int
	Message string
}

// Error returns the status and the server's message.
func (e *Error) Error() string {
	return fmt.Sprintf("%d %s: %s", e.Code, http.StatusText(e.Code), e.Message)
}

// Retryable reports whether a refused subscription may succeed later or
// elsewhere: server errors (503 among them) and statuses a proxy may
// answer.
func (e *Error) Retryable() bool {
	switch e.Code {
	case http.StatusNotFound, http.StatusRequestTimeout, http.StatusTooManyRequests:
		return true
	}
	return e.Code >= 500
}

// ReadError builds the Error for a refused response, reading at most 4 KiB
// of its body as the message.
func ReadError(resp *http.Response) *Error {
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return &Error{Code: resp.StatusCode, Message: strings.TrimSpace(string(msg))}
}

// BaseURL turns HOST:PORT into http://HOST:PORT and leaves URLs alone.
func BaseURL(addr string) string {
	if strings.Contains(addr, "://") {
		return strings.TrimRight(addr, "/")
	}
	return "http://" + addr
}

// Backoff is the delay before the next subscription attempt after
// failures failed attempts in a row: min doubled per failure, capped at
// max, then jittered down by up to half, so that many clients cut off at
// once do not all come back at once.
func Backoff(failures int, min, max time.Duration) time.Duration {
	d := min
	for i := 0; i < failures && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	return d/2 + rand.N(d/2+1)
}

// Sleep waits for d or until ctx ends; it reports whether d passed.
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
