package webui

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/api/auth"
)

// readWindow is how much of a file the console reads at once, for the file
// view and for each step of a tail.
const readWindow = 64 << 10

// entry is one line of the agent's /files/browse answer (Mesos's shape,
// and files.Entry's path_query).
type entry struct {
	Path string `json:"path"`
	// PathQuery is the path's bytes escaped, which the agent adds when
	// they are not UTF-8 and Path, a JSON string, cannot hold them.
	// browse puts them in Path.
	PathQuery string `json:"path_query"`
	Size      int64  `json:"size"`
	Mtime     int64  `json:"mtime"`
	Mode      string `json:"mode"`
}

// Name is the entry's last path element, its exact bytes, to ask the
// agent for it by.
func (e entry) Name() string { return path.Base(e.Path) }

// Label is the entry's name to show: Name with U+FFFD for each byte
// that is not UTF-8.
func (e entry) Label() string { return label(e.Name()) }

// label returns s with U+FFFD for each byte that is not UTF-8, for a
// page, whose text must be UTF-8.
func label(s string) string { return string([]rune(s)) }

// Dir reports whether the entry is a directory.
func (e entry) Dir() bool { return strings.HasPrefix(e.Mode, "d") }

// Modified is the entry's modification time.
func (e entry) Modified() string {
	return time.Unix(e.Mtime, 0).UTC().Format("2006-01-02 15:04:05 UTC")
}

// chunk is the agent's /files/read answer.
type chunk struct {
	Offset int64  `json:"offset"`
	Data   string `json:"data"`
	Length int64  `json:"length,omitempty"` // bytes of the file Data holds (files.ReadResult)
}

// readAnswerBytes bounds what the console reads of a /files/read answer:
// a window of readWindow bytes each of which JSON may escape as six (a
// byte that is not UTF-8 as \ufffd, < as \u003c, a control byte as
// \u0001), and room for the object around it. A smaller bound cuts the
// answer of a binary or HTML window short, which then cannot be decoded.
const readAnswerBytes = 6*readWindow + 4<<10

// maxListing is the most entries of one directory the console shows, the
// agent's own default (files.DefaultBrowseLimit): an agent configured to
// list more is cut here, and the page says the listing is truncated.
const maxListing = 10000

// browseAnswerBytes bounds what the console reads of a /files/browse
// answer. The answer is decoded one entry at a time and at most
// maxListing entries are kept, so this only guards against an endless
// answer: 10,000 entries whose path (up to 4 KiB) JSON escapes six times
// over, and their other fields.
const browseAnswerBytes = maxListing * (6*4<<10 + 1<<10)

// filesAnswer calls the agent's files API through the master and returns
// its answer, which the caller closes, when the agent answered 200. Any
// other answer (a 404 for a missing file) is a *pageError with its
// status and the agent's message.
func (c *Console) filesAnswer(ctx context.Context, agentID, op string, q url.Values) (*http.Response, error) {
	resp, err := c.cluster.Files(ctx, agentID, op, q)
	if err != nil {
		return nil, fmt.Errorf("files %s on agent %s: %w", op, agentID, err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		if err != nil {
			return nil, fmt.Errorf("files %s on agent %s: %w", op, agentID, err)
		}
		return nil, &pageError{status: resp.StatusCode, msg: fmt.Sprintf("The agent answered: %s", strings.TrimSpace(string(body)))}
	}
	return resp, nil
}

// readChunk reads one window of a file (q holds path, offset and length)
// with the agent's /files/read.
func (c *Console) readChunk(ctx context.Context, agentID string, q url.Values) (chunk, error) {
	var ch chunk
	resp, err := c.filesAnswer(ctx, agentID, "read", q)
	if err != nil {
		return ch, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, readAnswerBytes+1))
	if err != nil {
		return ch, fmt.Errorf("files read on agent %s: %w", agentID, err)
	}
	if len(body) > readAnswerBytes {
		return ch, fmt.Errorf("files read on agent %s: %w: larger than %d bytes", agentID, errBadAnswer, readAnswerBytes)
	}
	if err := json.Unmarshal(body, &ch); err != nil {
		return ch, fmt.Errorf("files read on agent %s: %w: %w", agentID, errBadAnswer, err)
	}
	return ch, nil
}

// browse lists a directory (or the one file p names) with the agent's
// /files/browse. truncated reports that the listing is partial: the agent
// said so (api.ListingTruncatedHeader) or it held more than maxListing
// entries. Entries are decoded one at a time, so a long answer costs the
// entries kept, not its whole text.
func (c *Console) browse(ctx context.Context, agentID, p string) (entries []entry, truncated bool, err error) {
	resp, err := c.filesAnswer(ctx, agentID, "browse", url.Values{"path": {p}})
	if err != nil {
		return nil, false, err
	}
	defer resp.Body.Close()
	truncated = resp.Header.Get(api.ListingTruncatedHeader) == "true"
	dec := json.NewDecoder(io.LimitReader(resp.Body, browseAnswerBytes))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return nil, false, fmt.Errorf("files browse on agent %s: decode answer: not a list (%v)", agentID, err)
	}
	for dec.More() {
		if len(entries) == maxListing {
			return entries, true, nil
		}
		var e entry
		if err := dec.Decode(&e); err != nil {
			return nil, false, fmt.Errorf("files browse on agent %s: decode answer: %w", agentID, err)
		}
		if e.PathQuery != "" {
			raw, err := url.QueryUnescape(e.PathQuery)
			if err != nil {
				return nil, false, fmt.Errorf("files browse on agent %s: decode answer: path_query %q: %w", agentID, e.PathQuery, err)
			}
			e.Path = raw
		}
		entries = append(entries, e)
	}
	if _, err := dec.Token(); err != nil {
		return nil, false, fmt.Errorf("files browse on agent %s: decode answer: %w", agentID, err)
	}
	return entries, truncated, nil
}

// crumb is one step of the path above a sandbox listing.
type crumb struct{ Name, Rel string }

type filesData struct {
	Task    api.Task
	Rel     string // the path inside the sandbox, "" for its top
	Crumbs  []crumb
	Entries []entry
	// Truncated reports a listing of only part of a large directory.
	Truncated bool
	File      *chunk // set when Rel is a file
	Size      int64
	Next      int64 // offset of the next window, or 0 at the end
	Download  string
}

// relPath checks a path inside a task's sandbox: relative, clean, no "..":
// the console shows one task's sandbox, not the agent's whole tree.
func relPath(p string) (string, error) {
	if p == "" || p == "." {
		return "", nil
	}
	if len(p) > 1024 || strings.ContainsRune(p, 0) || strings.HasPrefix(p, "/") || path.Clean(p) != p {
		return "", fmt.Errorf("path %q is not a clean path inside the sandbox", p)
	}
	for _, el := range strings.Split(p, "/") {
		if el == ".." {
			return "", fmt.Errorf("path %q leaves the sandbox", p)
		}
	}
	return p, nil
}

// sandboxAllowed refuses with 403 a principal whose view_sandboxes does
// not cover the task's framework user (the master refuses it too).
func (c *Console) sandboxAllowed(r *http.Request, p Principal, t api.Task) error {
	return allow(p, ActionViewSandbox, c.frameworkUser(r.Context(), t.FrameworkID.Value))
}

// frameworkUser returns the user of a framework the principal may see, ""
// for one it may not or the master has forgotten.
func (c *Console) frameworkUser(ctx context.Context, fid string) string {
	f, err := c.findAnyFramework(ctx, fid)
	if err != nil {
		return ""
	}
	return f.FrameworkInfo.User
}

func (c *Console) taskFiles(r *http.Request, p Principal) (*view, error) {
	q := r.URL.Query()
	rel, err := relPath(q.Get("path"))
	if err != nil {
		return nil, badRequest("%v", err)
	}
	var offset int64
	if v := q.Get("offset"); v != "" {
		if offset, err = strconv.ParseInt(v, 10, 64); err != nil || offset < 0 {
			return nil, badRequest("offset must be a whole number of bytes, not %q", v)
		}
	}
	t, err := c.findTask(r)
	if err != nil {
		return nil, err
	}
	if err := c.sandboxAllowed(r, p, t); err != nil {
		return nil, err
	}
	full := sandboxPath(t)
	if rel != "" {
		full += "/" + rel
	}
	d := filesData{Task: t, Rel: rel}
	acc := ""
	for _, el := range strings.Split(rel, "/") {
		if el != "" {
			acc = path.Join(acc, el)
			d.Crumbs = append(d.Crumbs, crumb{Name: label(el), Rel: acc})
		}
	}
	entries, truncated, err := c.browse(r.Context(), t.AgentID.Value, full)
	if err != nil {
		return nil, err
	}
	// Browsing a file lists that one file, under the path browsed (the
	// agent cleans it and roots it at "/"); a directory holding one file
	// of its own name (logs/logs) lists it under a longer path.
	if len(entries) == 1 && !entries[0].Dir() && entries[0].Path == path.Join("/", full) && rel != "" {
		q := url.Values{"path": {full}, "offset": {strconv.FormatInt(offset, 10)}, "length": {strconv.Itoa(readWindow)}}
		ch, err := c.readChunk(r.Context(), t.AgentID.Value, q)
		if err != nil {
			return nil, err
		}
		d.File, d.Size = &ch, entries[0].Size
		if end := ch.Offset + ch.Length; end < d.Size {
			d.Next = end
		}
		d.Download = "/tasks/" + url.PathEscape(t.FrameworkID.Value) + "/" + url.PathEscape(t.TaskID.Value) + "/download?" + url.Values{"path": {rel}}.Encode()
	} else {
		d.Entries, d.Truncated = entries, truncated
	}
	return &view{Template: "files", Title: "Sandbox of " + t.Name, Nav: "tasks", Data: d}, nil
}

// serveDownload sends one file of a task's sandbox as an attachment,
// through the master's files proxy (path= is relative to the sandbox).
func (c *Console) serveDownload(w http.ResponseWriter, r *http.Request) {
	p, _, ok := c.who(w, r, false)
	if !ok {
		return
	}
	r = r.WithContext(auth.WithPrincipal(r.Context(), p.Name()))
	rel, err := relPath(r.URL.Query().Get("path"))
	if err == nil && rel == "" {
		err = badRequest("name a file of the sandbox with path=")
	} else if err != nil {
		err = badRequest("%v", err)
	}
	var t api.Task
	if err == nil {
		t, err = c.findTask(r)
	}
	if err == nil {
		err = c.sandboxAllowed(r, p, t)
	}
	var resp *http.Response
	if err == nil {
		resp, err = c.cluster.Files(r.Context(), t.AgentID.Value, "download", url.Values{"path": {sandboxPath(t) + "/" + rel}})
	}
	if err != nil {
		v := c.errorView(r, err)
		http.Error(w, v.Data.(string), v.Status)
		return
	}
	defer resp.Body.Close()
	for _, h := range []string{"Content-Type", "Content-Length", "Content-Disposition"} {
		if v := resp.Header.Get(h); v != "" {
			w.Header().Set(h, v)
		}
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(resp.StatusCode)
	if _, err := io.Copy(w, resp.Body); err != nil {
		c.log.Debug("download cut off", "path", rel, "err", err)
	}
}

// serveTail streams a task's stdout and stderr as they grow: "stdout" and
// "stderr" events whose data is a JSON string of new output, starting with
// the last window of each file. The agent's files API has no way to
// watch a file, so the console reads each file's end every
// Config.TailEvery while the browser listens, and stops once the task is
// over and its output drained ("end" event).
func (c *Console) serveTail(w http.ResponseWriter, r *http.Request) {
	p, _, ok := c.who(w, r, false)
	if !ok {
		return
	}
	r = r.WithContext(auth.WithPrincipal(r.Context(), p.Name()))
	t, err := c.findTask(r)
	if err == nil {
		err = c.sandboxAllowed(r, p, t)
	}
	if err != nil {
		v := c.errorView(r, err)
		http.Error(w, v.Data.(string), v.Status)
		return
	}
	rc := http.NewResponseController(w)
	sseHeaders(w)
	if _, err := fmt.Fprint(w, "retry: 5000\n\n"); err != nil || rc.Flush() != nil {
		return
	}
	tails := []*tail{{name: "stdout", offset: -1}, {name: "stderr", offset: -1}}
	tick := time.NewTicker(c.cfg.TailEvery)
	defer tick.Stop()
	ctx := r.Context()
	for step := 1; ; step++ {
		if step%recheckSteps == 0 {
			t = c.recheckTask(r, t)
		}
		over := c.taskOver(t)
		for _, tl := range tails {
			if !c.sendTail(ctx, w, t, tl, over) {
				return
			}
		}
		if over {
			_, _ = fmt.Fprint(w, "event: end\ndata: \"\"\n\n")
			_ = rc.Flush()
			return
		}
		if rc.Flush() != nil {
			return
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		case <-c.done:
			return
		}
	}
}

// maxDrainSteps bounds how many windows a tail reads at once once the task
// is over (64 KiB each, so 4 MiB): enough for the end of any log a browser
// should be sent in one go.
const maxDrainSteps = 64

// errBadAnswer marks an answer of the agent's files API the console cannot
// decode. Asking again for the same window gets the same answer, so a
// tail reports it and moves past the window rather than retry forever.
var errBadAnswer = errors.New("the agent's answer cannot be decoded")

// sendTail sends what one file gained since the last step as an event
// named after it; when the task is over (drain) it reads on until the end
// of the file. It reports false when the browser has gone. A file that
// cannot be read yet (the task has not started writing it) sends nothing;
// any other failure is told to the browser as a "notice" event, once
// until the next success (a tail of an unreachable agent retries at every
// step, and says so once).
func (c *Console) sendTail(ctx context.Context, w http.ResponseWriter, t api.Task, tl *tail, drain bool) bool {
	for range maxDrainSteps {
		data, err := c.tailStep(ctx, t, tl)
		if err != nil {
			if ctx.Err() != nil {
				return false
			}
			c.log.Debug("tail", "task", t.TaskID.Value, "file", tl.name, "err", err)
			var pe *pageError
			if errors.As(err, &pe) && pe.status == http.StatusNotFound || err.Error() == tl.failed {
				return true
			}
			tl.failed = err.Error()
			b, _ := json.Marshal(tailNotice{File: tl.name, Message: err.Error()})
			_, err := fmt.Fprintf(w, "event: notice\ndata: %s\n\n", b)
			return err == nil
		}
		tl.failed = ""
		if data == "" {
			return true
		}
		b, _ := json.Marshal(data)
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", tl.name, b); err != nil {
			return false
		}
		if !drain && len(data) < readWindow {
			return true
		}
	}
	return true
}

// tailNotice is the data of a tail's "notice" event: why part of a file's
// output is missing or late, which the page shows in the file's pane.
type tailNotice struct {
	File    string `json:"file"`
	Message string `json:"message"`
}

// tail is where a live tail stands in one file: offset -1 until the file
// has been found.
type tail struct {
	name   string
	offset int64
	failed string // the error last told to the browser, "" after a success
}

// tailStep reads what the file gained since the last step. The first step
// finds the file's size and starts at most one window before its end. A
// window whose answer cannot be decoded is skipped, and the error says
// which bytes were.
func (c *Console) tailStep(ctx context.Context, t api.Task, tl *tail) (string, error) {
	p := sandboxPath(t) + "/" + tl.name
	if tl.offset < 0 {
		size, err := c.readChunk(ctx, t.AgentID.Value, url.Values{"path": {p}, "offset": {"-1"}})
		if err != nil {
			return "", err
		}
		tl.offset = max(0, size.Offset-readWindow)
	}
	q := url.Values{"path": {p}, "offset": {strconv.FormatInt(tl.offset, 10)}, "length": {strconv.Itoa(readWindow)}}
	ch, err := c.readChunk(ctx, t.AgentID.Value, q)
	if errors.Is(err, errBadAnswer) {
		from := tl.offset
		tl.offset += readWindow
		return "", fmt.Errorf("skipped bytes %d to %d of %s: %w", from, tl.offset, tl.name, err)
	}
	if err != nil {
		return "", err
	}
	tl.offset = ch.Offset + ch.Length
	return ch.Data, nil
}

// recheckSteps is how many steps of a live tail pass between two reads
// of a task the hub does not follow (recheckTask): every 5 s at the
// default Config.TailEvery.
const recheckSteps = 10

// recheckTask reads t again when the hub does not know it and it had not
// ended when last read, and returns it as it is now (t itself when it
// cannot be read). Why: the hub hears of a task's end only from the
// master's event stream, and a task the stream has not named — the
// stream broke and the console has not subscribed again, or the master
// refused the subscription (a standby that cannot read its replica) —
// would otherwise be tailed for ever.
func (c *Console) recheckTask(r *http.Request, t api.Task) api.Task {
	if _, known := c.hub.over(t.FrameworkID.Value, t.TaskID.Value); known || t.State.IsTerminal() {
		return t
	}
	now, err := c.findTask(r)
	if err != nil {
		c.log.Debug("tail: read the task again", "task", t.TaskID.Value, "err", err)
		return t
	}
	return now
}

// taskOver reports whether the hub knows the task to be in a terminal
// state, or, for a task it does not know, whether the task was in one when
// read: its output will not grow any more.
func (c *Console) taskOver(t api.Task) bool {
	if over, known := c.hub.over(t.FrameworkID.Value, t.TaskID.Value); known {
		return over
	}
	return t.State.IsTerminal()
}
