package executor

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/mezzo-cluster/mezzo/api/tlsconf"
)

// Config says which agent an executor talks to and who the executor is.
// An agent passes all of it in the environment of the executor it starts;
// ConfigFromEnv reads it from there. The zero value of every field but
// AgentEndpoint, FrameworkID and ExecutorID means its default.
type Config struct {
	// AgentEndpoint is the agent's HTTP address, HOST:PORT (as Mesos's
	// MESOS_AGENT_ENDPOINT gives it) or a base URL such as
	// http://host:5051. The executor API is at /api/v1/executor under it.
	AgentEndpoint string
	// FrameworkID and ExecutorID name the executor; every call carries
	// them.
	FrameworkID string
	ExecutorID  string
	// Sandbox is the executor's sandbox directory. The client does not use
	// it; it is here because the agent passes it with the rest.
	Sandbox string
	// Token, when set, is sent with every request as
	// "Authorization: Bearer <Token>".
	Token string
	// Checkpoint says whether the framework checkpoints. The client does
	// not use it: a Mezzo agent recovers every executor, so Run
	// re-subscribes after a disconnection whatever it says.
	Checkpoint bool

	// TLS, when set, makes the client reach an agent given as HOST:PORT
	// over https, verifying its certificate with it (TLS.RootCAs, or the
	// system pool when nil). It configures the default HTTP client; with
	// HTTPClient set, that client's Transport must do TLS itself.
	// ConfigFromEnv sets it from MEZZO_TLS_CA.
	TLS *tls.Config

	// HTTPClient makes the calls; nil means a client with CallTimeout.
	// The event stream uses the same Transport without the timeout.
	HTTPClient *http.Client

	// RecoveryTimeout is how long Run keeps trying to subscribe: from its
	// start until the first SUBSCRIBED event, and after a subscription
	// ends until the next SUBSCRIBED. Then Run gives up with an error
	// wrapping ErrRecoveryTimeout. Default DefaultRecoveryTimeout (15
	// minutes, the agent's default --recovery_timeout in Mesos).
	RecoveryTimeout time.Duration
	// MinBackoff and MaxBackoff bound the jittered exponential backoff
	// between subscription attempts. Defaults DefaultMinBackoff and
	// DefaultMaxBackoff; MESOS_SUBSCRIPTION_BACKOFF_MAX sets MaxBackoff.
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// ShutdownGracePeriod is how long the executor has, after a SHUTDOWN
	// event, to kill its tasks, send their updates and exit; Run returns
	// ErrShutdown when it passes. Default DefaultShutdownGracePeriod (5 s,
	// as Mesos).
	ShutdownGracePeriod time.Duration

	// Logger receives the client's own diagnostics (reconnection
	// attempts, refused calls); nil discards them.
	Logger *slog.Logger
}

// Defaults applied to zero Config fields.
const (
	DefaultRecoveryTimeout     = 15 * time.Minute
	DefaultMinBackoff          = 100 * time.Millisecond
	DefaultMaxBackoff          = 2 * time.Second
	DefaultShutdownGracePeriod = 5 * time.Second
	// CallTimeout is the timeout of the default HTTP client, which makes
	// every call but SUBSCRIBE.
	CallTimeout = 75 * time.Second
)

// DefaultConfig returns a Config with every default spelled out; set
// AgentEndpoint, FrameworkID and ExecutorID.
func DefaultConfig() Config {
	return Config{
		RecoveryTimeout:     DefaultRecoveryTimeout,
		MinBackoff:          DefaultMinBackoff,
		MaxBackoff:          DefaultMaxBackoff,
		ShutdownGracePeriod: DefaultShutdownGracePeriod,
	}
}

// Validate reports the first setting that cannot work, naming it. Zero
// fields are read as their defaults. Run calls it.
func (c Config) Validate() error {
	c = c.withDefaults()
	switch {
	case c.AgentEndpoint == "":
		return errors.New("executor config: AgentEndpoint is required")
	case c.FrameworkID == "":
		return errors.New("executor config: FrameworkID is required")
	case c.ExecutorID == "":
		return errors.New("executor config: ExecutorID is required")
	case c.RecoveryTimeout < 0:
		return fmt.Errorf("executor config: RecoveryTimeout must not be negative, got %v", c.RecoveryTimeout)
	case c.MinBackoff < 0 || c.MaxBackoff < 0:
		return errors.New("executor config: MinBackoff and MaxBackoff must not be negative")
	case c.MaxBackoff < c.MinBackoff:
		return fmt.Errorf("executor config: MaxBackoff (%v) is below MinBackoff (%v)", c.MaxBackoff, c.MinBackoff)
	case c.ShutdownGracePeriod < 0:
		return fmt.Errorf("executor config: ShutdownGracePeriod must not be negative, got %v", c.ShutdownGracePeriod)
	}
	return nil
}

// withDefaults returns c with zero fields set to their defaults.
func (c Config) withDefaults() Config {
	if c.RecoveryTimeout == 0 {
		c.RecoveryTimeout = DefaultRecoveryTimeout
	}
	if c.MinBackoff == 0 {
		c.MinBackoff = DefaultMinBackoff
		if c.MaxBackoff > 0 {
			c.MinBackoff = min(c.MinBackoff, c.MaxBackoff)
		}
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = max(DefaultMaxBackoff, c.MinBackoff)
	}
	if c.ShutdownGracePeriod == 0 {
		c.ShutdownGracePeriod = DefaultShutdownGracePeriod
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// executorURL returns the URL of the agent's executor API.
func (c Config) executorURL() string {
	base := tlsconf.BaseURL(c.AgentEndpoint, c.TLS != nil)
	return strings.TrimSuffix(base, "/api/v1/executor") + "/api/v1/executor"
}

// ConfigFromEnv builds a Config from the variables an agent sets for the
// executors it starts, looked up with getenv (os.Getenv in a real
// executor: the library never reads the environment itself). For each
// name, MEZZO_<NAME> is used when set and non-empty, else MESOS_<NAME>:
//
//	AGENT_ENDPOINT                  AgentEndpoint (required)
//	FRAMEWORK_ID                    FrameworkID (required)
//	EXECUTOR_ID                     ExecutorID (required)
//	SANDBOX, else DIRECTORY         Sandbox
//	EXECUTOR_AUTHENTICATION_TOKEN   Token
//	CHECKPOINT                      Checkpoint ("1" or "true"; "0" or "false")
//	RECOVERY_TIMEOUT                RecoveryTimeout
//	SUBSCRIPTION_BACKOFF_MAX        MaxBackoff
//	EXECUTOR_SHUTDOWN_GRACE_PERIOD  ShutdownGracePeriod
//	TLS_CA                          TLS: the agent serves https, verified
//	                                against the CA in this PEM file
//
// Durations are Go durations ("5s", "15m") or Mesos's ("5secs", "15mins",
// "100ms", "2hrs", "1days", "1weeks"). Unset variables leave their
// field's default; other fields are zero. The error names the variable at
// fault.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	env := envReader{getenv: getenv}
	cfg := DefaultConfig()
	cfg.AgentEndpoint = env.required("AGENT_ENDPOINT")
	cfg.FrameworkID = env.required("FRAMEWORK_ID")
	cfg.ExecutorID = env.required("EXECUTOR_ID")
	cfg.Sandbox, _ = env.lookup("SANDBOX")
	if cfg.Sandbox == "" {
		cfg.Sandbox, _ = env.lookup("DIRECTORY")
	}
	cfg.Token, _ = env.lookup("EXECUTOR_AUTHENTICATION_TOKEN")
	cfg.Checkpoint = env.boolean("CHECKPOINT")
	env.duration("RECOVERY_TIMEOUT", &cfg.RecoveryTimeout)
	env.duration("SUBSCRIPTION_BACKOFF_MAX", &cfg.MaxBackoff)
	env.duration("EXECUTOR_SHUTDOWN_GRACE_PERIOD", &cfg.ShutdownGracePeriod)
	env.tlsCA(&cfg.TLS)
	if env.err != nil {
		return Config{}, env.err
	}
	cfg.MinBackoff = min(cfg.MinBackoff, cfg.MaxBackoff)
	return cfg, cfg.Validate()
}

// envReader reads MEZZO_* and MESOS_* variables and keeps the first
// error.
type envReader struct {
	getenv func(string) string
	err    error
}

// lookup returns the value of MEZZO_name, else MESOS_name, and the
// variable it came from ("" when neither is set).
func (e *envReader) lookup(name string) (value, from string) {
	for _, prefix := range []string{"MEZZO_", "MESOS_"} {
		if v := e.getenv(prefix + name); v != "" {
			return v, prefix + name
		}
	}
	return "", ""
}

func (e *envReader) fail(err error) {
	if e.err == nil {
		e.err = err
	}
}

func (e *envReader) required(name string) string {
	v, _ := e.lookup(name)
	if v == "" {
		e.fail(fmt.Errorf("executor environment: MESOS_%s (or MEZZO_%s) is not set", name, name))
	}
	return v
}

func (e *envReader) boolean(name string) bool {
	v, from := e.lookup(name)
	switch strings.ToLower(v) {
	case "", "0", "false":
		return false
	case "1", "true":
		return true
	}
	e.fail(fmt.Errorf("executor environment: %s=%q: want 1, 0, true or false", from, v))
	return false
}

// tlsCA reads the CA file TLS_CA names, if set, into a client TLS
// configuration.
func (e *envReader) tlsCA(dst **tls.Config) {
	path, from := e.lookup("TLS_CA")
	if path == "" {
		return
	}
	data, err := os.ReadFile(path)
	if err != nil {
		e.fail(fmt.Errorf("executor environment: %s: %w", from, err))
		return
	}
	id, err := tlsconf.Parse(nil, nil, data)
	if err != nil {
		e.fail(fmt.Errorf("executor environment: %s %s: %w", from, path, err))
		return
	}
	*dst = id.Client()
}

func (e *envReader) duration(name string, dst *time.Duration) {
	v, from := e.lookup(name)
	if v == "" {
		return
	}
	d, err := ParseDuration(v)
	if err != nil {
		e.fail(fmt.Errorf("executor environment: %s: %w", from, err))
		return
	}
	*dst = d
}

// mesosDuration is a duration as Mesos's stout prints and parses it: a
// decimal number and one of its units.
var mesosDuration = regexp.MustCompile(`^([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|ms|secs|mins|hrs|days|weeks)$`)

var mesosUnits = map[string]time.Duration{
	"ns": time.Nanosecond, "us": time.Microsecond, "ms": time.Millisecond,
	"secs": time.Second, "mins": time.Minute, "hrs": time.Hour,
	"days": 24 * time.Hour, "weeks": 7 * 24 * time.Hour,
}

// ParseDuration parses a non-negative duration written for Go ("1m30s")
// or for Mesos ("90secs", "1.5mins"), as agents pass them to executors.
func ParseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		m := mesosDuration.FindStringSubmatch(strings.TrimSpace(s))
		if m == nil {
			return 0, fmt.Errorf("invalid duration %q", s)
		}
		n, perr := strconv.ParseFloat(m[1], 64)
		unit := mesosUnits[m[2]]
		if perr != nil || n*float64(unit) > float64(1<<63-1) {
			return 0, fmt.Errorf("invalid duration %q", s)
		}
		d = time.Duration(n * float64(unit))
	}
	if d < 0 {
		return 0, fmt.Errorf("invalid duration %q: negative", s)
	}
	return d, nil
}
