package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mezzo-cluster/mezzo/api/acl"
	"github.com/mezzo-cluster/mezzo/api/auth"
)

// credentialFlags are who this process is towards masters that require
// authentication: every client command, an agent, and a master calling
// its peers. The secret comes from a file or MEZZO_SECRET, never from a
// flag, which any user of the machine could read in the process list.
type credentialFlags struct {
	principal  string
	secretFile string
}

// creds are the root command's persistent --principal and --secret-file.
var creds credentialFlags

func (c *credentialFlags) register(root *cobra.Command) {
	root.PersistentFlags().StringVar(&c.principal, "principal", "", "authenticate to the masters as this principal (with the secret from --secret-file or MEZZO_SECRET)")
	root.PersistentFlags().StringVar(&c.secretFile, "secret-file", "", "a file holding the principal's secret")
}

// credential returns the principal and its secret; an empty principal
// means none (an open cluster).
func (c *credentialFlags) credential() (principal, secret string, err error) {
	if c.principal == "" {
		if c.secretFile != "" {
			return "", "", errors.New("--secret-file needs --principal")
		}
		return "", "", nil
	}
	secret = os.Getenv("MEZZO_SECRET")
	if c.secretFile != "" {
		b, err := os.ReadFile(c.secretFile)
		if err != nil {
			return "", "", fmt.Errorf("--secret-file: %w", err)
		}
		secret = strings.TrimSpace(string(b))
	}
	if secret == "" {
		return "", "", errors.New("--principal needs a secret: --secret-file or MEZZO_SECRET")
	}
	return c.principal, secret, nil
}

// securityFlags configure a master's authentication and authorization.
type securityFlags struct {
	credentials string
	acls        string
	openMetrics bool
	rateLimit   float64
	maxInFlight int
}

func (s *securityFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&s.credentials, "credentials", "", `principals and secrets to require of every client (JSON {"credentials":[{"principal":"p","secret":"s"}]} or "principal secret" lines)`)
	cmd.Flags().StringVar(&s.acls, "acls", "", "ACLs deciding what each principal may do (JSON; see SECURITY.md); without, every authenticated principal may do everything")
	cmd.Flags().BoolVar(&s.openMetrics, "open-metrics", false, "let /metrics answer without credentials")
	cmd.Flags().Float64Var(&s.rateLimit, "rate-limit", 0, "requests per second one client (principal, or address) may make of the scheduler, operator, module and files APIs; past it 429 (0: no limit)")
	cmd.Flags().IntVar(&s.maxInFlight, "max-in-flight", 0, "requests, event streams included, one client may have open at once; past it 429 (0: no limit)")
}

// load reads the files the flags name; nil results mean the feature is
// off.
func (s *securityFlags) load() (*auth.Authenticator, *acl.ACLs, error) {
	a, err := loadCredentials(s.credentials)
	if err != nil {
		return nil, nil, err
	}
	var acls *acl.ACLs
	if s.acls != "" {
		if a == nil {
			return nil, nil, errors.New("--acls needs --credentials: without authentication there is no principal to decide for")
		}
		data, err := os.ReadFile(s.acls)
		if err != nil {
			return nil, nil, fmt.Errorf("--acls: %w", err)
		}
		if acls, err = acl.Parse(data); err != nil {
			return nil, nil, fmt.Errorf("--acls %s: %w", s.acls, err)
		}
	}
	return a, acls, nil
}

// loadCredentials reads a --credentials file; "" means none (nil).
func loadCredentials(path string) (*auth.Authenticator, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--credentials: %w", err)
	}
	list, err := auth.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("--credentials %s: %w", path, err)
	}
	a, err := auth.New(list)
	if err != nil {
		return nil, fmt.Errorf("--credentials %s: %w", path, err)
	}
	return a, nil
}
