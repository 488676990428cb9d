package master

import (
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/mezzo-cluster/mezzo/api"
)

// TestStreamRecords serves a stream holding every kind of record and reads
// it back as a client would: records encoded when sent, encoded once for
// many streams, and encoded by the writer arrive in the order they were
// queued, and one that cannot be encoded is left out without ending the
// stream.
func TestStreamRecords(t *testing.T) {
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

	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
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
	s.close()
	if _, err := rr.ReadRecord(); err != io.EOF {
		t.Errorf("after close: %v, want EOF", err)
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
