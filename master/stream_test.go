package master

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
)

// streamServer serves s over HTTP/1.1 (hijacked) or HTTP/2 (through the
// server) and returns a client for it; ended is closed when serve calls
// its ended.
func streamServer(t *testing.T, s *stream, http2 bool) (url string, client *http.Client, ended chan struct{}) {
	t.Helper()
	ended = make(chan struct{})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.serve(w, r, func() { close(ended) })
	}))
	if http2 {
		srv.EnableHTTP2 = true
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return srv.URL, srv.Client(), ended
}

// TestStreamRecords serves a stream holding every kind of record and reads
// it back as a client would, over HTTP/1.1 and HTTP/2: records encoded
// when sent, encoded once for many streams, and encoded by the writer
// arrive in the order they were queued, one that cannot be encoded is left
// out without ending the stream, and closing the stream ends the response
// and calls ended.
func TestStreamRecords(t *testing.T) {
	for _, tt := range []struct {
		name  string
		http2 bool
	}{{"HTTP/1.1", false}, {"HTTP/2", true}} {
		t.Run(tt.name, func(t *testing.T) {
			s := newStream("test")
			queued := []struct {
				send func() bool
				want string // the record's type as decoded; "" when not written
			}{
				{func() bool { return s.send(api.Event{Type: api.EventSubscribed}) }, "SUBSCRIBED"},
				{func() bool { return s.sendEncoded(frameworkHeartbeat) }, "HEARTBEAT"},
				{func() bool {
					return s.sendLater(func() ([]byte, error) {
						return encodeOffers([]offerDraft{{offer: api.Offer{ID: api.OfferID{Value: "o1"}}}})
					})
				}, "OFFERS"},
				{func() bool { return s.sendLater(func() ([]byte, error) { return json.Marshal(math.Inf(1)) }) }, ""},
				{func() bool { return s.sendEncoded(agentHeartbeat) }, "HEARTBEAT"},
			}
			var want []string
			for i, q := range queued {
				if !q.send() {
					t.Fatalf("record %d was not queued", i)
				}
				if q.want != "" {
					want = append(want, q.want)
				}
			}
			url, client, ended := streamServer(t, s, tt.http2)
			resp, err := client.Post(url, "application/json", strings.NewReader("{}"))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Mesos-Stream-Id") != "test" || resp.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("status %d, headers %v", resp.StatusCode, resp.Header)
			}
			if !tt.http2 && !resp.Close {
				t.Error("an HTTP/1.1 stream does not ask the client to close its connection at the end")
			}
			rr := api.NewRecordReader(resp.Body)
			for i, w := range want {
				rec, err := rr.ReadRecord()
				if err != nil {
					t.Fatalf("record %d: %v", i, err)
				}
				var got struct{ Type string }
				if err := json.Unmarshal(rec, &got); err != nil {
					t.Fatalf("record %d: %v in %q", i, err, rec)
				}
				if got.Type != w {
					t.Errorf("record %d is %s, want %s", i, got.Type, w)
				}
			}
			// The stream is still open: what is sent now still arrives.
			s.send(api.Event{Type: api.EventHeartbeat})
			if _, err := rr.ReadRecord(); err != nil {
				t.Fatalf("after a record that failed to encode: %v", err)
			}
			// A final record queued with the close still arrives.
			s.send(api.Event{Type: api.EventError})
			s.close()
			if rec, err := rr.ReadRecord(); err != nil || !strings.Contains(string(rec), "ERROR") {
				t.Fatalf("the last record: %q, %v", rec, err)
			}
			if _, err := rr.ReadRecord(); err != io.EOF {
				t.Errorf("after close: %v, want EOF", err)
			}
			<-ended
		})
	}
}

// TestStreamClientGoesAway checks that a client that closes its end ends
// the stream, so that its agent or framework is seen disconnected at once.
func TestStreamClientGoesAway(t *testing.T) {
	for _, tt := range []struct {
		name  string
		http2 bool
	}{{"HTTP/1.1", false}, {"HTTP/2", true}} {
		t.Run(tt.name, func(t *testing.T) {
			s := newStream("test")
			s.send(api.Event{Type: api.EventSubscribed})
			url, client, ended := streamServer(t, s, tt.http2)
			resp, err := client.Post(url, "application/json", strings.NewReader("{}"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := api.NewRecordReader(resp.Body).ReadRecord(); err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			client.CloseIdleConnections()
			<-ended
			if !s.closed() {
				t.Error("the stream ended without being closed")
			}
		})
	}
}

// TestStreamClientStopsReading checks that a stream whose client stopped
// reading ends within its grace once closed, rather than holding its
// writer (and its agent or framework) for ever: over a hijacked HTTP/1.1
// connection, and over HTTP/2, where the writer waits for the client's
// flow control inside the server.
func TestStreamClientStopsReading(t *testing.T) {
	for _, tt := range []struct {
		name string
		// serve starts writing s to a client that reads nothing and
		// returns a channel closed when the writer calls ended.
		serve func(t *testing.T, s *stream) chan struct{}
	}{
		{"HTTP/1.1", func(t *testing.T, s *stream) chan struct{} {
			client, server := net.Pipe() // a write waits for a read that never comes
			t.Cleanup(func() { client.Close() })
			ended := make(chan struct{})
			go s.serveConn(server, http.Header{}, func() { close(ended) })
			return ended
		}},
		{"HTTP/2", func(t *testing.T, s *stream) chan struct{} {
			url, client, ended := streamServer(t, s, true)
			resp, err := client.Post(url, "application/json", strings.NewReader("{}"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { resp.Body.Close() })
			return ended
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newStream("test")
			s.grace = 50 * time.Millisecond
			ended := tt.serve(t, s)
			// 8 MiB, past the client's flow-control window (4 MiB for Go's
			// HTTP/2 transport): the writer is left waiting for the client.
			record := []byte(`"` + strings.Repeat("x", 64<<10) + `"`)
			for range 128 {
				s.sendEncoded(record)
			}
			s.close()
			<-ended
		})
	}
}

// TestSendAfterClose checks that no kind of send queues on a closed
// stream or a nil one.
func TestSendAfterClose(t *testing.T) {
	s := newStream("test")
	s.close()
	var none *stream
	for _, st := range []*stream{s, none} {
		if st.send(api.Event{Type: api.EventHeartbeat}) || st.sendEncoded(frameworkHeartbeat) || st.sendLater(func() ([]byte, error) { return nil, nil }) {
			t.Errorf("a send on %v queued", st)
		}
	}
}

// TestStreamFallsBehind: a subscriber that does not read is let go once
// streamBuffer records wait, or once the records waiting after the first
// hold streamBufferBytes, whichever comes first. The first may be larger
// (an operator's snapshot of a large cluster).
func TestStreamFallsBehind(t *testing.T) {
	for _, tt := range []struct {
		name         string
		first, other []byte
		max          int // records queued before the stream closes
	}{
		{"small records", []byte("{}"), []byte("{}"), streamBuffer},
		{"megabyte records", bytes.Repeat([]byte("x"), 1<<20), bytes.Repeat([]byte("x"), 1<<20), 1 + streamBufferBytes/(1<<20)},
		{"a huge first record", bytes.Repeat([]byte("x"), 2*streamBufferBytes), []byte("{}"), streamBuffer},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newStream("test")
			n := 0
			for rec := tt.first; s.sendEncoded(rec); rec = tt.other {
				n++
			}
			if n != tt.max {
				t.Errorf("%d records queued before the stream closed, want %d", n, tt.max)
			}
			select {
			case <-s.done:
			default:
				t.Error("the stream is not closed")
			}
		})
	}
}
