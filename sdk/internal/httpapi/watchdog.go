package httpapi

import (
	"errors"
	"io"
	"time"
)

// ErrMissedHeartbeats is the cause a Watchdog gives: no event arrived on
// an event stream for DefaultMissedHeartbeats (or as many as the client
// was told) of the master's heartbeat intervals.
var ErrMissedHeartbeats = errors.New("missed heartbeats")

// Heartbeat defaults, Mesos's.
const (
	// DefaultHeartbeat is the heartbeat interval a client assumes until
	// the master names its own in SUBSCRIBED (Mesos's
	// DEFAULT_HEARTBEAT_INTERVAL).
	DefaultHeartbeat = 15 * time.Second
	// DefaultMissedHeartbeats is how many intervals may pass without an
	// event before a client gives up on a stream, as Mesos advises.
	DefaultMissedHeartbeats = 5
)

// Watchdog calls its function once when an event stream stays silent for
// its timeout: a master or network path that died without closing the
// connection, which a read would otherwise wait on forever. The
// goroutine that reads the stream owns it; its methods are not safe for
// concurrent use.
type Watchdog struct {
	t       *time.Timer
	timeout time.Duration
}

// NewWatchdog starts a watchdog that calls fire, on a goroutine of its
// own, once timeout passes without a Resume.
func NewWatchdog(timeout time.Duration, fire func()) *Watchdog {
	return &Watchdog{t: time.AfterFunc(timeout, fire), timeout: timeout}
}

// SetTimeout changes the timeout from the next Resume on: the master
// named its heartbeat interval.
func (w *Watchdog) SetTimeout(d time.Duration) { w.timeout = d }

// Pause stops the countdown while the client, not the stream, is slow:
// while an event waits for its handler.
func (w *Watchdog) Pause() { w.t.Stop() }

// Resume starts the countdown again from the full timeout: the stream
// just showed it is alive, or the handler is done.
func (w *Watchdog) Resume() { w.t.Reset(w.timeout) }

// Stop stops the watchdog for good.
func (w *Watchdog) Stop() { w.t.Stop() }

// Reader returns r with every read that returns bytes counted as a sign
// of life (Resume), so that a long record that is still arriving, such as
// the operator stream's snapshot of a large cluster, is not taken for
// silence.
func (w *Watchdog) Reader(r io.Reader) io.Reader { return &aliveReader{r: r, w: w} }

type aliveReader struct {
	r io.Reader
	w *Watchdog
}

func (a *aliveReader) Read(p []byte) (int, error) {
	n, err := a.r.Read(p)
	if n > 0 {
		a.w.Resume()
	}
	return n, err
}
