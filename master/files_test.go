package master

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/agent/files"
	"github.com/mezzo-cluster/mezzo/api"
)

// filesAgent serves a fake agent's /files/download of one file as the
// agent does, with http.ServeContent, and subscribes that agent to tm
// with its port, so that the master's files proxy reaches it. It returns
// the agent's ID.
func filesAgent(t *testing.T, tm *testMaster, content string, modified time.Time) string {
	t.Helper()
	return subscribeFilesAgent(t, tm, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/files/download" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Disposition", `attachment; filename="stdout"`)
		http.ServeContent(w, r, "stdout", modified, strings.NewReader(content))
	}))
}

// sandboxAgent serves the agent's real files API over root, as an agent
// mounts it (files.TopDirRoots), subscribes that agent to tm and returns
// its ID.
func sandboxAgent(t *testing.T, tm *testMaster, root string) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/files/", files.NewHandler(root, files.TopDirRoots()))
	return subscribeFilesAgent(t, tm, mux)
}

// subscribeFilesAgent serves h as an agent's own HTTP API and subscribes
// that agent to tm with its port, so that the master's files proxy
// reaches h. It returns the agent's ID.
func subscribeFilesAgent(t *testing.T, tm *testMaster, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	_, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	res, _ := api.ParseResources("cpus:1;mem:128")
	resp := tm.post(t, "/api/v1/agent", api.AgentCall{Type: api.AgentCallSubscribe, Subscribe: &api.AgentSubscribe{
		AgentInfo: api.AgentInfo{Hostname: "127.0.0.1", Port: api.Int64(p), Resources: res}}})
	s := openStream[api.AgentEvent](t, resp)
	ev := s.next(func(api.AgentEvent) bool { return true })
	if ev.Type != api.AgentEventSubscribed {
		t.Fatalf("first agent event %s, want SUBSCRIBED", ev.Type)
	}
	return ev.Subscribed.AgentID.Value
}

// TestFilesProxyRangeAndHead checks that the master's files proxy answers
// as the agent does to Range, If-Range and HEAD, so that a large log can
// be downloaded in parts, and resumed, through the master.
func TestFilesProxyRangeAndHead(t *testing.T) {
	tm := startMaster(t)
	modified := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	const content = "0123456789abcdef"
	id := filesAgent(t, tm, content, modified)
	url := tm.url + "/agents/" + id + "/files/download?path=/fw/x/stdout"
	lastModified := modified.Format(http.TimeFormat)

	tests := []struct {
		name    string
		method  string
		header  map[string]string
		status  int
		body    string
		headers map[string]string
	}{
		{"whole", http.MethodGet, nil, http.StatusOK, content,
			map[string]string{"Accept-Ranges": "bytes", "Content-Length": "16", "Last-Modified": lastModified,
				"Content-Disposition": `attachment; filename="stdout"`}},
		{"range", http.MethodGet, map[string]string{"Range": "bytes=0-4"}, http.StatusPartialContent, "01234",
			map[string]string{"Content-Range": "bytes 0-4/16", "Content-Length": "5", "Accept-Ranges": "bytes"}},
		{"resume", http.MethodGet, map[string]string{"Range": "bytes=10-", "If-Range": lastModified},
			http.StatusPartialContent, "abcdef", map[string]string{"Content-Range": "bytes 10-15/16"}},
		{"resume of a changed file", http.MethodGet,
			map[string]string{"Range": "bytes=10-", "If-Range": modified.Add(-time.Hour).Format(http.TimeFormat)},
			http.StatusOK, content, nil},
		{"range past the end", http.MethodGet, map[string]string{"Range": "bytes=100-"},
			http.StatusRequestedRangeNotSatisfiable, "", map[string]string{"Content-Range": "bytes */16"}},
		{"not modified", http.MethodGet, map[string]string{"If-Modified-Since": lastModified}, http.StatusNotModified, "", nil},
		{"head", http.MethodHead, nil, http.StatusOK, "",
			map[string]string{"Content-Length": "16", "Accept-Ranges": "bytes", "Last-Modified": lastModified}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, url, nil)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, body, tt.status)
			}
			if tt.status < 400 && string(body) != tt.body {
				t.Errorf("body %q, want %q", body, tt.body)
			}
			for k, v := range tt.headers {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
		})
	}
}

// TestFilesProxyPathBytes lists, through the master, files whose names
// hold percent signs or are not valid UTF-8, and reads each entry the
// listing gives, as a client over HTTP does (the master passes the raw
// query on) and as the console does (Master.Files encodes the path
// again): each path reaches the agent's real files API decoded exactly
// once, naming the file listed and nothing a second decoding would.
func TestFilesProxyPathBytes(t *testing.T) {
	tm := startMaster(t)
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "fw", "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	id := sandboxAgent(t, tm, root)
	names := map[string]bool{"a%2eb": true, "%2e%2e": true, "a%2fb": true, "%25": true, "\xff\xfe.log": true, "caf\xe9 %2e": true}
	for name := range names {
		if err := os.WriteFile(filepath.Join(root, "fw", "x", name), []byte("I am "+strconv.QuoteToASCII(name)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := http.Get(tm.url + "/agents/" + id + "/files/browse?path=%2Ffw%2Fx")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var entries []files.Entry
	if err := json.NewDecoder(resp.Body).Decode(&entries); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("browse through the master: %d, %v", resp.StatusCode, err)
	}
	for _, e := range entries {
		query := "path=" + url.QueryEscape(e.Path)
		if e.PathQuery != "" {
			query = "path=" + e.PathQuery
		}
		q, err := url.ParseQuery(query)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimPrefix(q.Get("path"), "/fw/x/")
		if !names[name] {
			t.Errorf("the listing gives %+v, which names no file made", e)
			continue
		}
		delete(names, name)
		t.Run(name+"/http", func(t *testing.T) {
			resp, err := http.Get(tm.url + "/agents/" + id + "/files/read?offset=0&" + query)
			if err != nil {
				t.Fatal(err)
			}
			checkRead(t, resp, "I am "+strconv.QuoteToASCII(name))
		})
		t.Run(name+"/console", func(t *testing.T) {
			q.Set("offset", "0")
			resp, err := tm.Files(context.Background(), id, "read", q)
			if err != nil {
				t.Fatal(err)
			}
			checkRead(t, resp, "I am "+strconv.QuoteToASCII(name))
		})
	}
	for name := range names {
		t.Errorf("%q was not listed", name)
	}
}

// checkRead checks that resp is a 200 /files/read answer of data, and
// closes it.
func checkRead(t *testing.T, resp *http.Response, data string) {
	t.Helper()
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var got files.ReadResult
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &got) != nil || got.Data != data {
		t.Errorf("read = %d %s, want 200 with %q", resp.StatusCode, body, data)
	}
}
