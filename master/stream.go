package master

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

// streamBuffer is how many records a subscriber may fall behind before the
// master gives up on it. A framework or agent that cannot keep up is
// disconnected rather than allowed to grow the master's memory without
// bound; it re-subscribes and reconciles.
const streamBuffer = 4096

// streamBufferBytes bounds the same by the bytes of the records waiting
// that are already encoded: 4,096 status updates carrying a megabyte of
// data each would otherwise be 4 GiB held for one slow subscriber. The
// first record waiting does not count: an operator's SUBSCRIBED, the
// whole cluster's state, may alone be larger, and the events that follow
// it at once must not close the stream before its writer has started.
const streamBufferBytes = 64 << 20

// stream is one subscriber's RecordIO event stream: the master enqueues
// records from any goroutine; one goroutine writes them (see serve), each
// record a chunk of its own, as Mesos clients expect.
//
// The queue grows with what is waiting, up to streamBuffer records,
// rather than being a channel of that capacity: such a channel costs 96
// KiB per subscriber up front, which with tens of thousands of agents was
// most of the master's memory (e2e/bench, item g).
type stream struct {
	id   string
	wake chan struct{} // capacity 1: records are queued
	done chan struct{}
	once sync.Once

	mu    sync.Mutex
	queue []record
	bytes int // of the queue's encoded records but the first
	// setDeadline sets the write deadline of what the stream is being
	// written to — its hijacked connection, or its response through the
	// server — and grace is how long a write may still take once the
	// stream is closed: a client that stopped reading would otherwise hold
	// the writer, and its agent or framework would never be seen gone.
	// ending is set, with the deadline, when close begins. setDeadline is
	// nil while nothing is written, and is never called once serve's
	// handler returned.
	setDeadline func(time.Time) error
	ending      bool
	grace       time.Duration

	// sees, when set on an operator event stream, tells which events its
	// subscriber may see (the view ACLs); nil lets every event through.
	// It is called with the master's lock held.
	sees func(api.OperatorEvent) bool
}

func newStream(id string) *stream {
	return &stream{id: id, wake: make(chan struct{}, 1), done: make(chan struct{}), grace: closeGrace}
}

// closeGrace is how long a client has, once its stream is closed, to take
// what was queued before: long enough for a final ERROR event to reach a
// client that reads, short enough that one that does not is let go.
const closeGrace = 10 * time.Second

// record is one queued record: its encoding, or how its writer encodes
// it.
type record struct {
	b      []byte
	encode func() ([]byte, error)
}

// bytes returns the record's encoding.
func (r record) bytes() ([]byte, error) {
	if r.encode != nil {
		return r.encode()
	}
	return r.b, nil
}

// send enqueues v as one record, encoded now: v may refer to the master's
// state, which changes once the caller lets go of the lock. It never
// blocks: a full queue closes the stream. It reports whether the record
// was queued.
func (s *stream) send(v any) bool {
	if s == nil {
		return false
	}
	b, err := json.Marshal(v)
	if err != nil {
		slog.Error("encode event", "err", err)
		return false
	}
	return s.enqueue(record{b: b})
}

// sendEncoded enqueues a record encoded once for many streams, such as a
// heartbeat: 50,000 agents are not worth 50,000 encodings of the same
// bytes under the master's lock.
func (s *stream) sendEncoded(b []byte) bool {
	if s == nil {
		return false
	}
	return s.enqueue(record{b: b})
}

// sendLater enqueues a record that the goroutine writing the stream
// encodes, not the caller, who usually holds the master's lock: an
// allocation pass that offers 50,000 agents makes tens of megabytes of
// JSON, and encoding it there kept every API call waiting. encode must
// read nothing that may change once the caller lets go of the lock.
func (s *stream) sendLater(encode func() ([]byte, error)) bool {
	if s == nil {
		return false
	}
	return s.enqueue(record{encode: encode})
}

func (s *stream) enqueue(rec record) bool {
	select {
	case <-s.done:
		return false
	default:
	}
	s.mu.Lock()
	if len(s.queue) >= streamBuffer || len(s.queue) > 0 && s.bytes+len(rec.b) > streamBufferBytes {
		s.mu.Unlock()
		slog.Warn("subscriber fell behind; closing its stream", "stream", s.id)
		s.close()
		return false
	}
	if len(s.queue) > 0 {
		s.bytes += len(rec.b)
	}
	s.queue = append(s.queue, rec)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return true
}

// queued returns how many records wait to be written; 0 for a nil stream.
func (s *stream) queued() int {
	if s == nil {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue)
}

// take returns the queued records, leaving spare's array (emptied) to
// queue the next ones, so that a steady stream reuses two arrays.
func (s *stream) take(spare []record) []record {
	clear(spare)
	s.mu.Lock()
	defer s.mu.Unlock()
	batch := s.queue
	s.queue = spare[:0]
	s.bytes = 0
	return batch
}

// close ends the stream; the serving handler returns and the connection
// closes, within the grace if the client does not read. It is idempotent,
// and a no-op on a nil stream.
func (s *stream) close() {
	if s != nil {
		s.once.Do(func() {
			// The deadline is set before done is closed: the writer may
			// return once it is, and serve's response must not be touched
			// after its handler returned.
			s.mu.Lock()
			s.ending = true
			if s.setDeadline != nil {
				_ = s.setDeadline(time.Now().Add(s.grace))
			}
			s.mu.Unlock()
			close(s.done)
		})
	}
}

// deadlineBy says how to set the write deadline of what the stream is
// written to (nil once nothing is), and sets it at once if the stream is
// being closed already, for a writer that started after close began.
func (s *stream) deadlineBy(set func(time.Time) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setDeadline = set
	if set != nil && s.ending {
		_ = set(time.Now().Add(s.grace))
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

// serve writes the stream to the client of r until the stream is closed
// or the client goes away, then calls ended. The caller has already
// decided the status is 200.
//
// Over HTTP/1.1 it takes the connection from the HTTP server (hijacks it),
// returns at once and writes the chunked response itself from a goroutine
// of its own, ended called from there. Why: a stream lives as long as its
// agent or framework, and the server's state for a connection in a
// handler — a 4 KiB reader, a 4 KiB writer, a 2 KiB response buffer, the
// request, the handler's deep stack — was most of what each of 10,000
// agents cost the master (issue #9, item g). What is left per stream is
// the connection, the queue, a writer goroutine and a goroutine blocked
// reading, which is how a client that goes away is noticed at once.
// HTTP/2 streams, and writers that cannot be hijacked, are written
// through the server as before.
func (s *stream) serve(w http.ResponseWriter, r *http.Request, ended func()) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Mesos-Stream-Id", s.id)
	h.Set("Cache-Control", "no-cache")
	if r.ProtoMajor == 1 && r.ProtoMinor >= 1 {
		head := h.Clone()
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			leave := outliveHandler(r.Context())
			go s.serveConn(conn, head, func() { ended(); leave() })
			return
		}
	}
	defer ended()
	rc := http.NewResponseController(w)
	// Through the server, an HTTP/2 stream's Write waits for the client's
	// flow control, so one whose client stopped reading never sees done:
	// the deadline that close sets makes that Write fail.
	s.deadlineBy(rc.SetWriteDeadline)
	defer s.deadlineBy(nil)
	w.WriteHeader(http.StatusOK)
	_ = rc.Flush()
	var buf []byte
	var spare []record
	for {
		select {
		case <-s.wake:
			batch := s.take(spare)
			for _, rec := range batch {
				b, err := rec.bytes()
				if err != nil {
					slog.Error("encode event", "stream", s.id, "err", err)
					continue
				}
				buf = api.AppendRecord(buf[:0], b)
				if _, err := w.Write(buf); err != nil {
					s.close()
					return
				}
				if err := rc.Flush(); err != nil {
					s.close()
					return
				}
			}
			spare = batch
		case <-s.done:
			s.drain(w, rc)
			return
		case <-r.Context().Done():
			s.close()
			return
		}
	}
}

// maxKeptBuffer is the largest write buffer a hijacked stream keeps
// between writes: an OFFERS event may take a megabyte once, and 10,000
// idle streams should not each keep what their largest write took.
const maxKeptBuffer = 64 << 10

// serveConn writes the stream as a chunked HTTP/1.1 response on a hijacked
// connection, one chunk per record, as many records in one write as are
// queued, then the last chunk once the stream is closed. The response
// asks the client not to reuse the connection: it is closed at the end.
func (s *stream) serveConn(conn net.Conn, head http.Header, ended func()) {
	defer ended()
	defer conn.Close()
	s.deadlineBy(conn.SetWriteDeadline)
	go func() {
		var b [1]byte
		for {
			if _, err := conn.Read(b[:]); err != nil {
				s.close()
				return
			}
		}
	}()
	head.Set("Transfer-Encoding", "chunked")
	head.Set("Connection", "close")
	head.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	var start bytes.Buffer
	start.WriteString("HTTP/1.1 200 OK\r\n")
	_ = head.Write(&start)
	start.WriteString("\r\n")
	if _, err := conn.Write(start.Bytes()); err != nil {
		s.close()
		return
	}
	var buf []byte
	var spare []record
	write := func(batch []record) bool {
		buf = buf[:0]
		for _, rec := range batch {
			b, err := rec.bytes()
			if err != nil {
				slog.Error("encode event", "stream", s.id, "err", err)
				continue
			}
			buf = appendChunk(buf, b)
		}
		_, err := conn.Write(buf)
		if cap(buf) > maxKeptBuffer {
			buf = nil
		}
		return err == nil
	}
	for {
		select {
		case <-s.wake:
			batch := s.take(spare)
			if !write(batch) {
				s.close()
				return
			}
			spare = batch
		case <-s.done:
			if write(s.take(nil)) {
				_, _ = conn.Write([]byte("0\r\n\r\n"))
			}
			return
		}
	}
}

// appendChunk appends data as one RecordIO record in one HTTP/1.1 chunk.
func appendChunk(buf, data []byte) []byte {
	n := len(strconv.Itoa(len(data))) + 1 + len(data) // the record: length, "\n", data
	buf = strconv.AppendInt(buf, int64(n), 16)
	buf = append(buf, "\r\n"...)
	buf = api.AppendRecord(buf, data)
	return append(buf, "\r\n"...)
}

// drain writes what was queued before the stream was closed, so that a
// final ERROR event reaches the client before the connection ends.
func (s *stream) drain(w http.ResponseWriter, rc *http.ResponseController) {
	for _, rec := range s.take(nil) {
		b, err := rec.bytes()
		if err != nil {
			slog.Error("encode event", "stream", s.id, "err", err)
			continue
		}
		if _, err := w.Write(api.AppendRecord(nil, b)); err != nil {
			return
		}
		_ = rc.Flush()
	}
}
