package httpapi

import (
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/mezzo-cluster/mezzo/api/tlsconf"
)

// Connection is how a client reaches a secured cluster: the credential it
// presents and the TLS it speaks (nil: plain HTTP).
type Connection struct {
	Principal, Secret string
	TLS               *tls.Config
}

// ConnectionFromEnv reads a Connection from the variables the mezzo CLI
// reads, so that programs written with the SDK take the same settings:
// MEZZO_PRINCIPAL with MEZZO_SECRET_FILE (which wins) or MEZZO_SECRET, and
// MEZZO_TLS_CA with, for a client certificate, MEZZO_TLS_CERT and
// MEZZO_TLS_KEY. Unset variables leave their part empty; the error names
// the variable at fault.
func ConnectionFromEnv(getenv func(string) string) (Connection, error) {
	var c Connection
	c.Principal = getenv("MEZZO_PRINCIPAL")
	file := getenv("MEZZO_SECRET_FILE")
	switch {
	case c.Principal == "" && file != "":
		return c, errors.New("MEZZO_SECRET_FILE needs MEZZO_PRINCIPAL")
	case c.Principal == "":
		// No credential; a MEZZO_SECRET alone is ignored, as the CLI does.
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return c, fmt.Errorf("MEZZO_SECRET_FILE: %w", err)
		}
		c.Secret = strings.TrimSpace(string(b))
	default:
		c.Secret = getenv("MEZZO_SECRET")
	}
	if c.Principal != "" && c.Secret == "" {
		return c, errors.New("MEZZO_PRINCIPAL needs a secret: MEZZO_SECRET_FILE or MEZZO_SECRET")
	}
	var pems [3][]byte
	for i, name := range []string{"MEZZO_TLS_CERT", "MEZZO_TLS_KEY", "MEZZO_TLS_CA"} {
		file := getenv(name)
		if file == "" {
			continue
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return c, fmt.Errorf("%s: %w", name, err)
		}
		pems[i] = b
	}
	switch {
	case pems[0] == nil && pems[1] == nil && pems[2] == nil:
		return c, nil
	case (pems[0] == nil) != (pems[1] == nil):
		return c, errors.New("MEZZO_TLS_CERT and MEZZO_TLS_KEY go together: a client certificate and its key")
	}
	id, err := tlsconf.Parse(pems[0], pems[1], pems[2])
	if err != nil {
		return c, fmt.Errorf("MEZZO_TLS_CERT, MEZZO_TLS_KEY, MEZZO_TLS_CA: %w", err)
	}
	c.TLS = id.Client()
	return c, nil
}
