package webui

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// sseHeaders starts a Server-Sent Events answer.
func sseHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // proxies must not hold events back
	w.WriteHeader(http.StatusOK)
}

// serveEvents streams changes to a browser: "change" events whose data is
// the space-separated topics that changed since the last one. It carries
// no state: the page fetches its live region again when a topic concerns
// it. A browser that reads slowly gets the union of what changed meanwhile
// in one event, so it can never make the console queue without bound.
func (c *Console) serveEvents(w http.ResponseWriter, r *http.Request) {
	if _, _, ok := c.who(w, r, false); !ok {
		return
	}
	rc := http.NewResponseController(w)
	sseHeaders(w)
	if _, err := fmt.Fprint(w, "retry: 2000\n\n"); err != nil {
		return
	}
	if rc.Flush() != nil {
		return
	}
	cl := c.hub.add()
	defer c.hub.remove(cl)
	// A page names the mark it was rendered at (data-seq, "epoch:count"):
	// what changed since comes first, everything if the mark is another
	// console's. A stream that reconnects asks again from there, so it
	// may hear of a change twice, never miss one.
	c.hub.catchUp(cl, r.URL.Query().Get("since"))
	hb := time.NewTicker(c.cfg.Heartbeat)
	defer hb.Stop()
	for {
		var msg string
		select {
		case <-cl.wake:
			topics := cl.take()
			if len(topics) == 0 {
				continue
			}
			msg = "event: change\ndata: " + strings.Join(topics, " ") + "\n\n"
		case <-hb.C:
			msg = ": heartbeat\n\n"
		case <-r.Context().Done():
			return
		case <-c.done:
			return
		}
		if _, err := fmt.Fprint(w, msg); err != nil {
			return
		}
		if rc.Flush() != nil {
			return
		}
	}
}
