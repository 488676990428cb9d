package httpapi

import (
	"errors"
	"fmt"
	"net/url"
)

// MaxRedirects bounds the redirects one request follows: a standby
// master redirects to the leader, and one more hop covers masters that
// disagree about who leads during an election; more is a loop.
const MaxRedirects = 5

// ErrInsecureRedirect is returned (wrapped) for a redirect that would
// take a client speaking TLS to plain http.
var ErrInsecureRedirect = errors.New("redirect to plain http refused: credentials would go unencrypted")

// CheckRedirect returns an error unless a request to from may follow a
// redirect to to. The SDK's clients send their credentials with every
// request, redirected ones too, so a client that speaks TLS, because from
// is https or because tls is set, must not be moved to plain http, where
// anyone on the path reads them (ErrInsecureRedirect). Only http and
// https are followed. Checking each hop against the one before is enough:
// once on https, every later hop is too.
func CheckRedirect(from, to *url.URL, tls bool) error {
	switch {
	case to.Scheme != "http" && to.Scheme != "https":
		return fmt.Errorf("follow redirect to %s: unsupported scheme %q", to.Redacted(), to.Scheme)
	case to.Scheme != "https" && (tls || from.Scheme == "https"):
		return fmt.Errorf("follow redirect to %s: %w", to.Redacted(), ErrInsecureRedirect)
	}
	return nil
}
