package health

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"
)

// maxBody is how much of a response body is read before the connection
// is closed.
const maxBody = 64 << 10

// httpProbe is healthy when a GET of url answers with an accepted status.
type httpProbe struct {
	url      string
	statuses []uint64 // accepted statuses; empty: 200..399
	timeout  time.Duration
	client   *http.Client
}

func newHTTPProbe(url string, statuses []uint64, timeout time.Duration) *httpProbe {
	// Like Mesos's curl -L -k: follow redirects (to the same host, see
	// sameHost), do not verify certificates. No proxy and no kept connections: each check is a
	// fresh connection to the task, as each curl run was.
	tr := &http.Transport{
		Proxy:             nil,
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // Mesos checks with curl -k.
		DisableKeepAlives: true,
	}
	return &httpProbe{url: url, statuses: statuses, timeout: timeout, client: &http.Client{Transport: tr, CheckRedirect: sameHost}}
}

// sameHost follows a redirect only to the host and port the check
// names. The agent runs the check from its own network, where whatever
// answers on the task's port could otherwise point it at the agent's or
// the master's API, or at any other host, and read the status of the
// answer in the check's result; a redirect elsewhere is the answer
// itself (a 3xx, healthy unless statuses say otherwise).
func sameHost(req *http.Request, via []*http.Request) error {
	if req.URL.Host != via[0].URL.Host {
		return http.ErrUseLastResponse
	}
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	return nil
}

func (p *httpProbe) probe(ctx context.Context) outcome {
	ctx, cancel := withTimeout(ctx, p.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url, nil)
	if err != nil {
		return outcome{msg: fmt.Sprintf("HTTP check failed: %v", err)}
	}
	resp, err := p.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return outcome{msg: fmt.Sprintf("HTTP check of %s timed out after %v", p.url, p.timeout)}
		}
		return outcome{msg: fmt.Sprintf("HTTP check failed: %v", err)}
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
	resp.Body.Close()
	code := uint64(resp.StatusCode)
	o := outcome{ok: p.accepts(code), result: result{known: true, value: int64(code)}}
	o.msg = fmt.Sprintf("HTTP GET %s returned %d", p.url, code)
	return o
}

func (p *httpProbe) accepts(code uint64) bool {
	if len(p.statuses) > 0 {
		return slices.Contains(p.statuses, code)
	}
	return code >= 200 && code < 400
}
