package webui

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Config holds a console's settings. Start from DefaultConfig.
type Config struct {
	// Logger receives the console's logs; nil means slog.Default().
	Logger *slog.Logger
	// Login checks the credentials typed into the login form. nil means
	// the console has no authentication: everyone acts as an anonymous
	// principal allowed everything, as on an open master's API.
	Login LoginFunc
	// SessionTTL is how long a login lasts; the person then logs in again.
	SessionTTL time.Duration
	// MaxSessions bounds the sessions held in memory; past it, starting
	// one forgets the oldest session of the principal holding the most.
	MaxSessions int
	// MaxSessionsPerPrincipal bounds the sessions of one principal; past
	// it, a login forgets that principal's oldest session. Why: anyone
	// who can log in could otherwise fill the table and so log every
	// other person out. The anonymous principal of a console without
	// Login is bound by MaxSessions alone, as it is everyone's.
	MaxSessionsPerPrincipal int
	// MaxUploadBytes caps an uploaded module; the master's own cap applies
	// too. Larger uploads are refused with 413 before they are read.
	MaxUploadBytes int64
	// PageSize is the number of rows a table shows when the URL does not
	// say (per=).
	PageSize int
	// History is how far back the Overview's running-tasks chart goes.
	History time.Duration
	// SampleEvery is how often the chart takes a sample.
	SampleEvery time.Duration
	// TailEvery is how often a live tail looks for new output in a task's
	// sandbox file while a browser follows it.
	TailEvery time.Duration
	// Heartbeat is how often an idle /events stream sends a comment, so
	// that proxies keep it open and browsers notice a dead master.
	Heartbeat time.Duration
	// Resubscribe is how long the console waits before subscribing again
	// after the master's event stream ended.
	Resubscribe time.Duration
}

// DefaultConfig returns settings for a console in front of one master.
func DefaultConfig() Config {
	return Config{
		MaxUploadBytes:          64 << 20,
		SessionTTL:              12 * time.Hour,
		MaxSessions:             10000,
		MaxSessionsPerPrincipal: 100,
		PageSize:                50,
		History:                 15 * time.Minute,
		SampleEvery:             5 * time.Second,
		TailEvery:               500 * time.Millisecond,
		Heartbeat:               15 * time.Second,
		Resubscribe:             time.Second,
	}
}

// Validate reports the first setting that cannot work, naming it.
func (c Config) Validate() error {
	switch {
	case c.MaxUploadBytes <= 0:
		return errors.New("webui config: MaxUploadBytes must be positive")
	case c.PageSize <= 0 || c.PageSize > maxPerPage:
		return fmt.Errorf("webui config: PageSize must be in 1..%d, got %d", maxPerPage, c.PageSize)
	case c.History <= 0 || c.SampleEvery <= 0 || c.SampleEvery > c.History:
		return fmt.Errorf("webui config: need 0 < SampleEvery (%v) <= History (%v)", c.SampleEvery, c.History)
	case c.TailEvery <= 0:
		return fmt.Errorf("webui config: TailEvery must be positive, got %v", c.TailEvery)
	case c.Heartbeat <= 0:
		return fmt.Errorf("webui config: Heartbeat must be positive, got %v", c.Heartbeat)
	case c.SessionTTL < time.Second:
		return fmt.Errorf("webui config: SessionTTL must be at least a second, got %v", c.SessionTTL)
	case c.MaxSessions <= 0:
		return fmt.Errorf("webui config: MaxSessions must be positive, got %d", c.MaxSessions)
	case c.MaxSessionsPerPrincipal <= 0:
		return fmt.Errorf("webui config: MaxSessionsPerPrincipal must be positive, got %d", c.MaxSessionsPerPrincipal)
	case c.Resubscribe <= 0:
		return fmt.Errorf("webui config: Resubscribe must be positive, got %v", c.Resubscribe)
	}
	return nil
}
