package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/mezzo-cluster/mezzo/api/tlsconf"
)

// tlsFlags are the root command's persistent --tls-cert, --tls-key and
// --tls-ca (or MEZZO_TLS_CERT, MEZZO_TLS_KEY, MEZZO_TLS_CA). A master or
// an agent serves TLS with all three and uses them towards its peers
// too; a client verifies the masters against --tls-ca (else the system
// pool) and presents --tls-cert when given. Why one set for both:
// RATIONALE.md, "Why TLS flags on the root command?".
type tlsFlags struct {
	cert, key, ca string
}

// tlsf holds the root command's TLS flags.
var tlsf tlsFlags

func (f *tlsFlags) register(root *cobra.Command) {
	root.PersistentFlags().StringVar(&f.cert, "tls-cert", "", "PEM certificate: a master or agent serves TLS with it; a client presents it to masters that ask")
	root.PersistentFlags().StringVar(&f.key, "tls-key", "", "the PEM private key of --tls-cert")
	root.PersistentFlags().StringVar(&f.ca, "tls-ca", "", "PEM CA certificates to verify masters, agents and peers against (a client given it talks https)")
}

// set reports whether any TLS flag was given.
func (f *tlsFlags) set() bool { return f.cert != "" || f.key != "" || f.ca != "" }

// load reads the files the flags name; nil when none is given.
func (f *tlsFlags) load() (*tlsconf.Identity, error) {
	if !f.set() {
		return nil, nil
	}
	switch {
	case f.cert != "" && f.key == "":
		return nil, errors.New("--tls-cert needs --tls-key, the certificate's private key")
	case f.key != "" && f.cert == "":
		return nil, errors.New("--tls-key needs --tls-cert, the certificate it is the key of")
	}
	var pems [3][]byte
	for i, file := range []struct{ flag, path string }{{"--tls-cert", f.cert}, {"--tls-key", f.key}, {"--tls-ca", f.ca}} {
		if file.path == "" {
			continue
		}
		b, err := os.ReadFile(file.path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file.flag, err)
		}
		pems[i] = b
	}
	id, err := tlsconf.Parse(pems[0], pems[1], pems[2])
	if err != nil {
		return nil, fmt.Errorf("--tls-cert %s, --tls-key %s, --tls-ca %s: %w", orNone(f.cert), orNone(f.key), orNone(f.ca), err)
	}
	return id, nil
}

// daemon loads the identity of a master or agent that advertises host;
// nil when no TLS flag is given. A daemon needs all three flags, and a
// certificate valid for host, from the CA, for both server and client
// authentication.
func (f *tlsFlags) daemon(host string) (*tlsconf.Identity, error) {
	if !f.set() {
		return nil, nil
	}
	if f.cert == "" || f.ca == "" {
		return nil, errors.New("a master or agent serving TLS needs --tls-cert, --tls-key and --tls-ca (the CA that signed the cluster's certificates, to verify its peers)")
	}
	id, err := f.load()
	if err != nil {
		return nil, err
	}
	if err := id.CheckDaemon(host); err != nil {
		return nil, fmt.Errorf("--tls-cert %s: %w", f.cert, err)
	}
	return id, nil
}

// caPath is --tls-ca made absolute, for executors, which run in their
// sandboxes.
func (f *tlsFlags) caPath() (string, error) {
	p, err := filepath.Abs(f.ca)
	if err != nil {
		return "", fmt.Errorf("--tls-ca: %w", err)
	}
	return p, nil
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
