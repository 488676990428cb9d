package master

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"sync"

	"github.com/mezzo-cluster/mezzo/api"
)

// streamBuffer is how many records a subscriber may fall behind before the
// master gives up on it. A framework or agent that cannot keep up is
// disconnected rather than allowed to grow the master's memory without
// bound; it re-subscribes and reconciles.
const streamBuffer = 4096

// stream is one subscriber's RecordIO event stream: the master enqueues
// records from any goroutine; the HTTP handler that owns the connection
// writes them, one record per write and flush, as Mesos clients expect.
type stream struct {
	id   string
	ch   chan []byte
	done chan struct{}
	once sync.Once
}

func newStream(id string) *stream {
	return &stream{id: id, ch: make(chan []byte, streamBuffer), done: make(chan struct{})}
}

// send enqueues v as one record. It never blocks: a full buffer closes the
// stream. It reports whether the record was queued.
func (s *stream) send(v any) bool {
	if s == nil {
		return false
	}
	b, err := json.Marshal(v)
	if err != nil {
		slog.Error("encode event", "err", err)
		return false
	}
	select {
	case <-s.done:
		return false
	default:
	}
	select {
	case s.ch <- b:
		return true
	default:
		slog.Warn("subscriber fell behind; closing its stream", "stream", s.id)
		s.close()
		return false
	}
}

// close ends the stream; the serving handler returns and the connection
// closes. It is idempotent, and a no-op on a nil stream.
func (s *stream) close() {
	if s != nil {
		s.once.Do(func() { close(s.done) })
	}
}

// closed reports whether close has been called.
func (s *stream) closed() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// serve writes the stream to w until the stream is closed or the client
// goes away. The caller has already decided the status is 200.
func (s *stream) serve(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Mesos-Stream-Id", s.id)
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	var buf []byte
	for {
		select {
		case rec := <-s.ch:
			buf = api.AppendRecord(buf[:0], rec)
			if _, err := w.Write(buf); err != nil {
				s.close()
				return
			}
			if err := rc.Flush(); err != nil {
				s.close()
				return
			}
		case <-s.done:
			s.drain(w, rc)
			return
		case <-r.Context().Done():
			s.close()
			return
		}
	}
}

// drain writes what was queued before the stream was closed, so that a
// final ERROR event reaches the client before the connection ends.
func (s *stream) drain(w http.ResponseWriter, rc *http.ResponseController) {
	for {
		select {
		case rec := <-s.ch:
			if _, err := w.Write(api.AppendRecord(nil, rec)); err != nil {
				return
			}
			_ = rc.Flush()
		default:
			return
		}
	}
}
