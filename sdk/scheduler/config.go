package scheduler

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/api/auth"
	"github.com/mezzo-cluster/mezzo/api/tlsconf"
	"github.com/mezzo-cluster/mezzo/sdk/internal/httpapi"
)

// Config describes a framework and the masters it subscribes to. The zero
// value of every field but Master/Masters and Framework means its default;
// DefaultConfig spells the defaults out.
type Config struct {
	// Master is one master, HOST:PORT or a base URL. It is kept for
	// single-master setups and is tried before Masters.
	Master string
	// Masters lists the masters, HOST:PORT or base URLs such as
	// http://host:5050 or http://host:5050/master. Run subscribes to
	// the first that answers, follows a non-leading master's 307 to the
	// leader (but not from https, or with TLS set, to plain http), and
	// goes round the list when a master fails.
	Masters []string

	// Framework is sent on SUBSCRIBE; Name is required. User may be left
	// empty, and usually should be: native tasks then run as each
	// agent's default task user (api.FrameworkInfo), not as whoever
	// started the framework; root needs an ACL naming it. An ID
	// re-subscribes an existing framework (after the framework process
	// restarts); otherwise the master assigns one, and the client keeps
	// it for every later re-subscription.
	Framework api.FrameworkInfo
	// FailoverTimeout, when positive, replaces Framework.FailoverTimeout:
	// how long the master keeps the framework's tasks running while the
	// framework is disconnected. Zero (in both places) means the master
	// removes the framework, and kills its tasks, as soon as its stream
	// breaks, so that a reconnect finds it gone; frameworks that must
	// survive their own or the master's restart set a long timeout (Mesos
	// advises weeks).
	FailoverTimeout time.Duration
	// Roles, when set, replaces Framework.Roles and makes the framework
	// MULTI_ROLE capable, as the roles field requires.
	Roles []string

	// Principal and Secret, when Principal is set, are sent with every
	// request as HTTP Basic credentials; Principal also fills
	// Framework.Principal when that is empty.
	Principal string
	Secret    string

	// ManualAcknowledge turns off automatic acknowledgement of status
	// updates; the handler must then call Acknowledge for every update
	// that carries a UUID. By default the client acknowledges an update
	// once the handler has returned nil for it.
	ManualAcknowledge bool

	// TLS, when set, makes the client reach masters given as HOST:PORT
	// over https, verifying their certificates with it (TLS.RootCAs, or
	// the system pool when nil) and presenting TLS.Certificates when a
	// master asks. It configures the default HTTP client; with
	// HTTPClient set, that client's Transport must do TLS itself. A
	// master given as an https:// URL needs no TLS unless its
	// certificate is not from the system pool.
	TLS *tls.Config

	// HTTPClient makes the calls; nil means a client with a 75 s timeout,
	// as Mesos advises for calls other than SUBSCRIBE. The event stream
	// uses the same Transport without the timeout. The client's
	// CheckRedirect is not used: redirects are followed by this package.
	HTTPClient *http.Client

	// MinBackoff and MaxBackoff bound the jittered exponential backoff
	// between subscription attempts, and between rounds of explicit
	// reconciliation. Defaults: 1 s and 15 s (Mesos advises a cap of about
	// 15 s).
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// MissedHeartbeats is how many heartbeat intervals may pass without
	// any event before the client drops the stream and re-subscribes.
	// Default 5. The interval is the master's, from SUBSCRIBED (15 s
	// until one arrives), taken as at least 1 s and at most 1 h: an
	// interval out of that range is a broken master's, and taken as it
	// is it made the client drop every stream at once.
	MissedHeartbeats int
	// MaxFailures, when positive, makes Run give up and return the last
	// error after that many rounds of subscription attempts in a row
	// (each master tried once per round) failed without reaching
	// SUBSCRIBED: for one-shot tools that should report an unreachable
	// master rather than wait for it, but ride out a failover. Zero means
	// retry forever, as long-running frameworks should.
	MaxFailures int
	// ReconcileInterval is how often implicit reconciliation runs while
	// subscribed, after the reconciliation every subscription starts
	// with. Zero turns the periodic round off; DefaultConfig sets 15
	// minutes.
	ReconcileInterval time.Duration

	// Disconnected, if set, is called when an established subscription
	// ends and Run is about to subscribe again, with the reason. It runs
	// on Run's goroutine, between events, and must not block for long.
	// Offers received before it are void. The next subscription is
	// announced by a SUBSCRIBED event.
	Disconnected func(err error)
	// Logger receives the client's own diagnostics (reconnect attempts,
	// failed acknowledgements); nil discards them.
	Logger *slog.Logger
}

// Defaults applied to zero Config fields.
const (
	DefaultMinBackoff       = time.Second
	DefaultMaxBackoff       = 15 * time.Second
	DefaultMissedHeartbeats = httpapi.DefaultMissedHeartbeats
	// DefaultHeartbeat is the heartbeat interval assumed until the master
	// names its own (Mesos's DEFAULT_HEARTBEAT_INTERVAL).
	DefaultHeartbeat = httpapi.DefaultHeartbeat
	// CallTimeout is the timeout of the default HTTP client.
	CallTimeout = 75 * time.Second
)

// DefaultConfig returns a Config with every default spelled out and
// periodic reconciliation every 15 minutes; set Masters and Framework.
func DefaultConfig() Config {
	return Config{
		MinBackoff:        DefaultMinBackoff,
		MaxBackoff:        DefaultMaxBackoff,
		MissedHeartbeats:  DefaultMissedHeartbeats,
		ReconcileInterval: 15 * time.Minute,
	}
}

// Validate reports the first setting that cannot work, naming it. Zero
// fields are read as their defaults. Run calls it.
func (c Config) Validate() error {
	c = c.withDefaults()
	switch {
	case len(c.masters()) == 0:
		return errors.New("scheduler config: Masters (or Master) is required")
	case c.Framework.Name == "":
		return errors.New("scheduler config: Framework.Name is required")
	case c.FailoverTimeout < 0:
		return fmt.Errorf("scheduler config: FailoverTimeout must not be negative, got %v", c.FailoverTimeout)
	case c.MinBackoff < 0 || c.MaxBackoff < 0:
		return errors.New("scheduler config: MinBackoff and MaxBackoff must not be negative")
	case c.MaxBackoff < c.MinBackoff:
		return fmt.Errorf("scheduler config: MaxBackoff (%v) is below MinBackoff (%v)", c.MaxBackoff, c.MinBackoff)
	case c.MissedHeartbeats < 0:
		return fmt.Errorf("scheduler config: MissedHeartbeats must not be negative, got %d", c.MissedHeartbeats)
	case c.MaxFailures < 0:
		return fmt.Errorf("scheduler config: MaxFailures must not be negative, got %d", c.MaxFailures)
	case c.ReconcileInterval < 0:
		return fmt.Errorf("scheduler config: ReconcileInterval must not be negative, got %v", c.ReconcileInterval)
	case c.Secret != "" && c.Principal == "":
		return errors.New("scheduler config: Secret is set but Principal is not")
	}
	if c.TLS != nil && c.Principal != "" {
		// The credentials would go unencrypted where TLS was asked for.
		for _, m := range c.masters() {
			if !strings.HasPrefix(m, "https://") {
				return fmt.Errorf("scheduler config: master %s: %w", m, auth.ErrPlainHTTP)
			}
		}
	}
	return nil
}

// FromEnv sets Principal, Secret and TLS, where they are not set yet,
// from the variables the mezzo CLI reads: MEZZO_PRINCIPAL with
// MEZZO_SECRET_FILE or MEZZO_SECRET, and MEZZO_TLS_CA (with MEZZO_TLS_CERT
// and MEZZO_TLS_KEY for a client certificate). A framework that calls it
// reaches a cluster with credentials and TLS as the CLI does, with no
// flags of its own; the samples do. getenv is os.Getenv but in tests. The
// error names the variable at fault.
func (c *Config) FromEnv(getenv func(string) string) error {
	conn, err := httpapi.ConnectionFromEnv(getenv)
	if err != nil {
		return fmt.Errorf("scheduler config: %w", err)
	}
	if c.Principal == "" {
		c.Principal, c.Secret = conn.Principal, conn.Secret
	}
	if c.TLS == nil {
		c.TLS = conn.TLS
	}
	return nil
}

// withDefaults returns c with zero fields set to their defaults.
func (c Config) withDefaults() Config {
	if c.MinBackoff == 0 {
		c.MinBackoff = DefaultMinBackoff
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = max(DefaultMaxBackoff, c.MinBackoff)
	}
	if c.MissedHeartbeats == 0 {
		c.MissedHeartbeats = DefaultMissedHeartbeats
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// masters returns Master and Masters as base URLs, each once.
func (c Config) masters() []string {
	var out []string
	for _, m := range append([]string{c.Master}, c.Masters...) {
		if b := tlsconf.BaseURL(m, c.TLS != nil); m != "" && !slices.Contains(out, b) {
			out = append(out, b)
		}
	}
	return out
}

// frameworkInfo returns Framework with FailoverTimeout, Roles and
// Principal applied.
func (c Config) frameworkInfo() api.FrameworkInfo {
	info := c.Framework
	info.Capabilities = slices.Clone(info.Capabilities)
	if c.FailoverTimeout > 0 {
		info.FailoverTimeout = api.Float64(c.FailoverTimeout.Seconds())
	}
	if len(c.Roles) > 0 {
		info.Roles = slices.Clone(c.Roles)
		info.Role = ""
		if !info.HasCapability(api.CapMultiRole) {
			info.Capabilities = append(info.Capabilities, api.FrameworkCapability{Type: api.CapMultiRole})
		}
	}
	if info.Principal == "" {
		info.Principal = c.Principal
	}
	if info.ID != nil {
		info.ID = &api.FrameworkID{Value: info.ID.Value}
	}
	return info
}
