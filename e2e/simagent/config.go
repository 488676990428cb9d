package simagent

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

// Forever, as Config.TaskDuration, makes tasks run until they are killed,
// for runs that place tasks and keep them placed.
const Forever time.Duration = -1

// Config describes a fleet of simulated agents. Master, Agents and
// Resources are required; the zero value of every other field means its
// default, which DefaultConfig spells out.
type Config struct {
	// Master is the master's HOST:PORT, or every master's, separated by
	// commas, for replicated masters: an agent starts with the first,
	// follows a standby's 307 to the leader, and moves on to the next
	// master, with backoff, when one is unreachable or answers 503 (no
	// leader elected), as a real agent does.
	Master string
	// Agents is how many agents to run.
	Agents int
	// Resources is what every agent offers.
	Resources api.Resources
	// Hostname prefixes each agent's hostname, which is followed by the
	// agent's index: "sim-17".
	Hostname string
	// TaskDuration is how long a task runs between TASK_RUNNING and
	// TASK_FINISHED; Forever keeps it running until killed. Zero finishes
	// tasks at once, so each task costs the master two updates.
	TaskDuration time.Duration
	// UpdateRetry is how long an update may wait for its acknowledgement
	// before it is sent again (the real agent's StatusRetryMin: 10 s).
	UpdateRetry time.Duration
	// Senders is how many UPDATE calls are in flight at once across the
	// fleet, each on a pooled connection. Each call carries the updates
	// queued for one agent, up to 64, as the real agent's do. Default 32.
	Senders int
	// Dialers is how many agents may be connecting and subscribing at
	// once while the fleet starts. Default 64.
	Dialers int
	// SourceAddrs, when set, are the local IP addresses the event streams
	// are dialled from, round robin; each allows about 28,000 streams to
	// one master address. Empty means the system's choice.
	SourceAddrs []string
	// HTTP2 carries the event streams and the updates over shared HTTP/2
	// connections without TLS (prior knowledge), as mezzo master serves
	// them, instead of a connection per agent: for fleets larger than
	// the file descriptors a process may open (one per HTTP/1.1 stream,
	// on both sides). SourceAddrs is then unused.
	HTTP2 bool
	// ReadBuffer is the size of each stream's read buffer. Default 2 KiB.
	ReadBuffer int
	// Logger receives the fleet's diagnostics; nil discards them.
	Logger *slog.Logger
}

// DefaultConfig returns the defaults of the optional fields.
func DefaultConfig() Config {
	return Config{
		Hostname:    "sim",
		UpdateRetry: 10 * time.Second,
		Senders:     32,
		Dialers:     64,
		ReadBuffer:  2 << 10,
	}
}

// Validate reports the first setting that cannot work, naming it.
func (c Config) Validate() error {
	switch {
	case len(c.masters()) == 0:
		return errors.New("simagent config: Master is required")
	case c.Agents <= 0:
		return fmt.Errorf("simagent config: Agents must be positive, got %d", c.Agents)
	case len(c.Resources) == 0:
		return errors.New("simagent config: Resources is required")
	case c.TaskDuration < 0 && c.TaskDuration != Forever:
		return fmt.Errorf("simagent config: TaskDuration must be Forever or not negative, got %v", c.TaskDuration)
	case c.UpdateRetry < 0 || c.Senders < 0 || c.Dialers < 0 || c.ReadBuffer < 0:
		return errors.New("simagent config: UpdateRetry, Senders, Dialers and ReadBuffer must not be negative")
	}
	return api.ValidateResources(c.Resources)
}

// masters lists the masters Master names.
func (c Config) masters() []string {
	var out []string
	for _, m := range strings.Split(c.Master, ",") {
		if m = strings.TrimSpace(m); m != "" {
			out = append(out, m)
		}
	}
	return out
}

// withDefaults fills zero optional fields.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.Hostname == "" {
		c.Hostname = d.Hostname
	}
	if c.UpdateRetry == 0 {
		c.UpdateRetry = d.UpdateRetry
	}
	if c.Senders == 0 {
		c.Senders = d.Senders
	}
	if c.Dialers == 0 {
		c.Dialers = d.Dialers
	}
	if c.ReadBuffer == 0 {
		c.ReadBuffer = d.ReadBuffer
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}
