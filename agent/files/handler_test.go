package files

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/mezzo-cluster/mezzo/api"
)

// server starts a Handler over a new fixture behind a real HTTP server.
func server(t *testing.T, opts ...Option) (*fixture, *httptest.Server) {
	t.Helper()
	fx := newFixture(t, t.TempDir())
	mux := http.NewServeMux()
	mux.Handle("/files/", NewHandler(fx.root, opts...))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return fx, srv
}

// get fetches /files/<endpoint>?<rawQuery> and returns status, headers
// and body.
func get(t *testing.T, srv *httptest.Server, method, endpoint, rawQuery string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+"/files/"+endpoint+"?"+rawQuery, nil)
	must(t, err)
	resp, err := srv.Client().Do(req)
	must(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	must(t, err)
	return resp.StatusCode, resp.Header, string(body)
}

func pathQuery(p string) string { return "path=" + url.QueryEscape(p) }

func TestBrowse(t *testing.T) {
	fx, srv := server(t)
	code, hdr, body := get(t, srv, "GET", "browse", pathQuery("/"+run+"/latest"))
	if code != 200 || hdr.Get("Content-Type") != "application/json" {
		t.Fatalf("browse: %d %q %s", code, hdr.Get("Content-Type"), body)
	}
	var raw []map[string]any
	must(t, json.Unmarshal([]byte(body), &raw))
	wantKeys := "gid mode mtime nlink path size uid"
	for _, e := range raw {
		keys := make([]string, 0, len(e))
		for k := range e {
			keys = append(keys, k)
		}
		if got := strings.Join(sorted(keys), " "); got != wantKeys {
			t.Errorf("entry keys = %q, want %q", got, wantKeys)
		}
		if _, ok := e["mtime"].(float64); !ok {
			t.Errorf("mtime %v is not a number", e["mtime"])
		}
	}
	var got []Entry
	must(t, json.Unmarshal([]byte(body), &got))
	uid, gid := owner(t, os.Getuid(), os.Getgid())
	want := []Entry{
		{Path: "/" + run + "/latest/big", Nlink: 1, Size: int64(len(fx.big)), Mode: "-rw-------"},
		{Path: "/" + run + "/latest/empty", Nlink: 1, Size: 0, Mode: "-rw-r--r--"},
		{Path: "/" + run + "/latest/stdout", Nlink: 1, Size: 12, Mode: "-rw-r--r--"},
		{Path: "/" + run + "/latest/sub", Nlink: 2, Mode: "drwxr-x---"},
	}
	if len(got) != len(want) {
		t.Fatalf("browse returned %d entries, want %d: %s", len(got), len(want), body)
	}
	for i, w := range want {
		g := got[i]
		w.Mtime, w.UID, w.GID = fx.mtime.Unix(), uid, gid
		if w.Mode[0] == 'd' {
			w.Size, w.Nlink = g.Size, g.Nlink // both depend on the file system
		}
		if g != w {
			t.Errorf("entry %d = %+v, want %+v", i, g, w)
		}
	}
}

// owner returns the names browse should report for uid and gid.
func owner(t *testing.T, uid, gid int) (string, string) {
	t.Helper()
	u, g := strconv.Itoa(uid), strconv.Itoa(gid)
	if usr, err := user.LookupId(u); err == nil {
		u = usr.Username
	}
	if grp, err := user.LookupGroupId(g); err == nil {
		g = grp.Name
	}
	return u, g
}

func sorted(s []string) []string {
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s
}

func TestBrowseLinksAndFiles(t *testing.T) {
	_, srv := server(t)
	tests := []struct {
		name, path string
		want       map[string]string // entry path -> mode prefix
	}{
		{"inside link described by its target", "/" + run,
			map[string]string{"/" + run + "/latest": "d", "/" + run + "/abs": "d", "/" + run + "/R1": "d"}},
		{"outside links described as links", "/",
			map[string]string{"/evil-file": "l", "/evil-dir": "l", "/evil-rel": "l", "/evil-dangling": "l",
				"/dangling": "l", "/loop": "l", "/self": "d", "/frameworks": "d"}},
		{"a file lists itself", run + "/R1/stdout",
			map[string]string{"/" + run + "/R1/stdout": "-"}},
		{"dot-dot inside the root", "frameworks/F/../F/./executors/E/runs/latest/sub/..",
			map[string]string{"/" + run + "/latest/sub": "d", "/" + run + "/latest/stdout": "-"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, body := get(t, srv, "GET", "browse", pathQuery(tt.path))
			if code != 200 {
				t.Fatalf("browse %q: %d %s", tt.path, code, body)
			}
			var got []Entry
			must(t, json.Unmarshal([]byte(body), &got))
			for _, e := range got {
				if e.Size == int64(len(secret)) {
					t.Errorf("listing reveals the outside file's size: %+v", e)
				}
			}
			modes := map[string]string{}
			for _, e := range got {
				modes[e.Path] = e.Mode
			}
			for p, prefix := range tt.want {
				if !strings.HasPrefix(modes[p], prefix) {
					t.Errorf("entry %q has mode %q, want prefix %q (listing %s)", p, modes[p], prefix, body)
				}
			}
		})
	}
}

func TestRead(t *testing.T) {
	fx, srv := server(t)
	stdout := "path=" + url.QueryEscape(run+"/latest/stdout")
	big := "path=" + url.QueryEscape(run+"/latest/big")
	tests := []struct {
		name, query string
		want        ReadResult
	}{
		{"no offset gives the size", stdout, ReadResult{Offset: 12}},
		{"offset -1 gives the size", stdout + "&offset=-1", ReadResult{Offset: 12}},
		{"offset -1 ignores length", stdout + "&offset=-1&length=5", ReadResult{Offset: 12}},
		{"window", stdout + "&offset=0&length=5", ReadResult{Offset: 0, Data: "hello"}},
		{"window in the middle", stdout + "&offset=6&length=3", ReadResult{Offset: 6, Data: "wor"}},
		{"length -1 reads to the end", stdout + "&offset=6&length=-1", ReadResult{Offset: 6, Data: "world\n"}},
		{"no length reads to the end", stdout + "&offset=6", ReadResult{Offset: 6, Data: "world\n"}},
		{"length past the end", stdout + "&offset=6&length=1000", ReadResult{Offset: 6, Data: "world\n"}},
		{"length 0", stdout + "&offset=3&length=0", ReadResult{Offset: 3}},
		{"offset at the size", stdout + "&offset=12", ReadResult{Offset: 12}},
		{"offset beyond the size", stdout + "&offset=1000&length=10", ReadResult{Offset: 12}},
		{"empty file", "path=" + url.QueryEscape(run+"/R1/empty") + "&offset=0", ReadResult{Offset: 0}},
		{"capped at 64 KiB", big + "&offset=0", ReadResult{Offset: 0, Data: string(fx.big[:64<<10])}},
		{"capped at 64 KiB with a length", big + "&offset=10&length=100000", ReadResult{Offset: 10, Data: string(fx.big[10 : 10+64<<10])}},
		{"tail of a big file", big + "&offset=" + strconv.Itoa(len(fx.big)-7), ReadResult{Offset: int64(len(fx.big) - 7), Data: "9abcdef"}},
		{"through an absolute inside link", "path=" + url.QueryEscape(run+"/abs/stdout") + "&offset=0&length=5", ReadResult{Data: "hello"}},
		{"through a link to the root", "path=self/self/" + url.QueryEscape(run+"/R1/stdout") + "&offset=0&length=5", ReadResult{Data: "hello"}},
		{"legacy read.json", stdout + "&offset=0&length=2", ReadResult{Data: "he"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			endpoint := "read"
			if strings.HasPrefix(tt.name, "legacy") {
				endpoint = "read.json"
			}
			code, _, body := get(t, srv, "GET", endpoint, tt.query)
			if code != 200 {
				t.Fatalf("read %s: %d %s", tt.query, code, body)
			}
			var got ReadResult
			must(t, json.Unmarshal([]byte(body), &got))
			tt.want.Length = int64(len(tt.want.Data)) // the files here are ASCII
			if got != tt.want {
				t.Errorf("read %s = {%d, %d bytes}, want {%d, %d bytes}", tt.query, got.Offset, len(got.Data), tt.want.Offset, len(tt.want.Data))
			}
		})
	}
}

func TestReadLimitOption(t *testing.T) {
	_, srv := server(t, ReadLimit(4))
	code, _, body := get(t, srv, "GET", "read", pathQuery(run+"/R1/stdout")+"&offset=0")
	if code != 200 || body != `{"offset":0,"data":"hell","length":4}` {
		t.Errorf("read with ReadLimit(4) = %d %s", code, body)
	}
}

func TestJSONP(t *testing.T) {
	_, srv := server(t)
	code, hdr, body := get(t, srv, "GET", "read", pathQuery(run+"/R1/stdout")+"&jsonp=angular.callbacks._0")
	if code != 200 || hdr.Get("Content-Type") != "text/javascript" || body != `angular.callbacks._0({"offset":12,"data":""});` {
		t.Errorf("jsonp read = %d %q %s", code, hdr.Get("Content-Type"), body)
	}
	code, _, body = get(t, srv, "GET", "read", pathQuery(run+"/R1/stdout")+"&jsonp="+url.QueryEscape("alert(1);x"))
	if code != 400 {
		t.Errorf("jsonp with script = %d %s, want 400", code, body)
	}
}

func TestDownload(t *testing.T) {
	fx, srv := server(t)
	code, hdr, body := get(t, srv, "GET", "download", pathQuery(run+"/latest/big"))
	if code != 200 || body != string(fx.big) {
		t.Fatalf("download = %d, %d bytes, want 200, %d bytes", code, len(body), len(fx.big))
	}
	want := map[string]string{
		"Content-Type":        "application/octet-stream",
		"Content-Disposition": `attachment; filename=big`,
		"Content-Length":      strconv.Itoa(len(fx.big)),
		"Last-Modified":       fx.mtime.UTC().Format(http.TimeFormat),
	}
	for k, v := range want {
		if got := hdr.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	code, hdr, body = get(t, srv, "HEAD", "download", pathQuery(run+"/latest/stdout"))
	if code != 200 || body != "" || hdr.Get("Content-Length") != "12" {
		t.Errorf("HEAD download = %d %q length %q", code, body, hdr.Get("Content-Length"))
	}
	req, _ := http.NewRequest("GET", srv.URL+"/files/download?"+pathQuery(run+"/latest/stdout"), nil)
	req.Header.Set("Range", "bytes=6-10")
	resp, err := srv.Client().Do(req)
	must(t, err)
	part, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusPartialContent || string(part) != "world" {
		t.Errorf("ranged download = %d %q", resp.StatusCode, part)
	}
}

func TestDownloadFilenameQuoting(t *testing.T) {
	fx, srv := server(t)
	fx.write(t, fx.root+"/my file;x.txt", []byte("x"), 0o644)
	_, hdr, _ := get(t, srv, "GET", "download", pathQuery("my file;x.txt"))
	if got := hdr.Get("Content-Disposition"); got != `attachment; filename="my file;x.txt"` {
		t.Errorf("Content-Disposition = %q", got)
	}
}

func TestErrors(t *testing.T) {
	fx, srv := server(t)
	fx.write(t, fx.root+"/pipe-placeholder", nil, 0o644)
	tests := []struct {
		name, method, endpoint, query string
		code                          int
		body                          string // a substring of the message
	}{
		{"missing path", "GET", "read", "offset=0", 400, "Expecting 'path=value' in query."},
		{"empty path", "GET", "browse", "path=", 400, "Expecting 'path=value' in query."},
		{"missing path download", "GET", "download", "", 400, "Expecting 'path=value'"},
		{"bad query escape", "GET", "read", "path=%zz", 400, "malformed"},
		{"bad offset", "GET", "read", pathQuery(run+"/R1/stdout") + "&offset=abc", 400, "Failed to parse offset"},
		{"empty offset", "GET", "read", pathQuery(run+"/R1/stdout") + "&offset=", 400, "Failed to parse offset"},
		{"negative offset", "GET", "read", pathQuery(run+"/R1/stdout") + "&offset=-2", 400, "Negative offset provided: -2."},
		{"bad length", "GET", "read", pathQuery(run+"/R1/stdout") + "&offset=0&length=1e3", 400, "Failed to parse length"},
		{"negative length", "GET", "read", pathQuery(run+"/R1/stdout") + "&offset=0&length=-5", 400, "Negative length provided: -5."},
		{"read a directory", "GET", "read", pathQuery(run + "/latest"), 400, "Cannot read a directory"},
		{"download a directory", "GET", "download", pathQuery(run), 400, "Cannot download a directory"},
		{"read missing", "GET", "read", pathQuery(run + "/R1/nope"), 404, "does not exist"},
		{"browse missing", "GET", "browse", pathQuery("nope"), 404, "does not exist"},
		{"download missing", "GET", "download", pathQuery("nope/x"), 404, "does not exist"},
		{"file as a directory", "GET", "read", pathQuery(run + "/R1/stdout/x"), 404, "not a directory"},
		{"dangling inside link", "GET", "read", pathQuery("dangling"), 404, "does not exist"},
		{"link loop", "GET", "read", pathQuery("loop"), 400, "too many symbolic links"},
		{"path too long", "GET", "browse", pathQuery(strings.Repeat("a/", 2049)), 400, "longer than 4096 bytes"},
		{"name too long", "GET", "browse", pathQuery(strings.Repeat("a", 256)), 400, "longer than 255 bytes"},
		{"POST", "POST", "read", pathQuery(run + "/R1/stdout"), 405, "Method POST is not allowed"},
		{"PUT", "PUT", "browse", pathQuery("/"), 405, "use GET or HEAD"},
		{"unknown endpoint", "GET", "debug", pathQuery("/"), 404, `No files endpoint is called "debug"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, hdr, body := get(t, srv, tt.method, tt.endpoint, tt.query)
			if code != tt.code || !strings.Contains(body, tt.body) {
				t.Errorf("%s %s?%s = %d %q, want %d containing %q", tt.method, tt.endpoint, tt.query, code, body, tt.code, tt.body)
			}
			if !strings.HasPrefix(hdr.Get("Content-Type"), "text/plain") {
				t.Errorf("error Content-Type = %q", hdr.Get("Content-Type"))
			}
			if tt.code == 405 && hdr.Get("Allow") != "GET, HEAD" {
				t.Errorf("Allow = %q", hdr.Get("Allow"))
			}
			if strings.Contains(body, fx.root) {
				t.Errorf("error body reveals the real root: %q", body)
			}
		})
	}
}

// TestErrorNamesTheFile checks that an error about a file deep in a
// sandbox, whose path is longer than an error message quotes whole, still
// names the file.
func TestErrorNamesTheFile(t *testing.T) {
	_, srv := server(t)
	deep := run + "/" + strings.Repeat("0123456789abcdef/", 12) + "tasks/my-task/missing-output.txt"
	for _, endpoint := range []string{"read", "browse", "download"} {
		code, _, body := get(t, srv, "GET", endpoint, pathQuery(deep)+"&offset=0")
		if code != 404 || !strings.Contains(body, `my-task/missing-output.txt"`) || !strings.Contains(body, `"frameworks/F/`) {
			t.Errorf("%s of a missing file deep in a sandbox = %d %q, want 404 naming the path's start and the file", endpoint, code, body)
		}
		if len(body) > 400 {
			t.Errorf("%s: error of %d bytes for a path of %d", endpoint, len(body), len(deep))
		}
	}
}

// TestEscapes tries every way out of the root on every endpoint.
func TestEscapes(t *testing.T) {
	fx, srv := server(t)
	tests := []struct {
		name, rawPath string // rawPath is put in the query string as is
		code          int
	}{
		{"dot-dot", "../", 403},
		{"dot-dot to a sibling", "../outside/secret", 403},
		{"rooted dot-dot", "/../../etc/passwd", 403},
		{"dot-dot after a directory", "frameworks/../../outside/secret", 403},
		{"percent-encoded dot-dot", "%2e%2e/outside/secret", 403},
		{"percent-encoded mixed case", "%2E./outside/secret", 403},
		// Decoded once, these are names inside the root, which do not
		// exist: nothing decodes them a second time (TestLiteralPercentNames).
		{"double-encoded dot-dot", "%252e%252e%252foutside%252fsecret", 404},
		{"double-encoded slash", "frameworks%252f..%252f..%252foutside", 404},
		{"NUL byte", "stdout%00.txt", 403},
		{"backslash", "..%5c..%5coutside", 403},
		{"backslash alone", "frameworks%5cF", 403},
		{"absolute host path is root-relative", "/etc/passwd", 404},
		{"outside dir's real path is root-relative", url.QueryEscape(fx.outside + "/secret"), 404},
		{"symlinked file pointing outside", "evil-file", 403},
		{"symlinked dir pointing outside as an intermediate", "evil-dir/secret", 403},
		{"symlinked dir pointing outside", "evil-dir", 403},
		{"relative link climbing out", "evil-rel", 403},
		{"link with dot-dot climbing out", "evil-dotdot/secret", 403},
		{"dangling link pointing outside", "evil-dangling", 403},
		{"outside link reached through an inside link", "self/evil-dir/secret", 403},
		{"dot-dot then outside link", "frameworks/../evil-dir/secret", 403},
	}
	for _, tt := range tests {
		for _, endpoint := range []string{"browse", "read", "download"} {
			t.Run(tt.name+"/"+endpoint, func(t *testing.T) {
				query := "path=" + tt.rawPath
				if endpoint == "read" {
					query += "&offset=0"
				}
				code, _, body := get(t, srv, "GET", endpoint, query)
				if code != tt.code {
					t.Errorf("%s?%s = %d %q, want %d", endpoint, query, code, body, tt.code)
				}
				echoed := strings.Contains(tt.name, "real path") // the message quotes the request
				if strings.Contains(body, "SECRET") || (!echoed && strings.Contains(body, fx.outside)) {
					t.Errorf("%s?%s leaked: %q", endpoint, query, body)
				}
			})
		}
	}
}

func TestInsideLinksWork(t *testing.T) {
	_, srv := server(t)
	for _, p := range []string{run + "/latest/stdout", run + "/abs/stdout", "self/" + run + "/latest/stdout", "/" + run + "/R1/sub/../stdout"} {
		code, _, body := get(t, srv, "GET", "download", pathQuery(p))
		if code != 200 || body != "hello world\n" {
			t.Errorf("download %q = %d %q", p, code, body)
		}
	}
}

// TestBrowseLimit browses a directory with more entries than the limit:
// the answer lists the limit's worth, sorted, and says it is partial; a
// directory within the limit is listed whole, with no such header.
func TestBrowseLimit(t *testing.T) {
	const limit = 5
	fx, srv := server(t, BrowseLimit(limit))
	many := fx.root + "/many"
	must(t, os.Mkdir(many, 0o755))
	for i := range 3 * limit {
		must(t, os.WriteFile(many+"/f"+strconv.Itoa(100+i), nil, 0o644))
	}
	code, hdr, body := get(t, srv, "GET", "browse", pathQuery("/many"))
	var got []Entry
	must(t, json.Unmarshal([]byte(body), &got))
	if code != 200 || len(got) != limit || hdr.Get(api.ListingTruncatedHeader) != "true" {
		t.Errorf("browse of %d entries: %d, %d entries, %s %q; want 200, %d, \"true\"", 3*limit, code, len(got), api.ListingTruncatedHeader, hdr.Get(api.ListingTruncatedHeader), limit)
	}
	for i := 1; i < len(got); i++ {
		if got[i-1].Path >= got[i].Path {
			t.Errorf("entries not sorted: %s before %s", got[i-1].Path, got[i].Path)
		}
	}
	_, hdr, body = get(t, srv, "GET", "browse", pathQuery("/"+run+"/latest"))
	got = nil
	must(t, json.Unmarshal([]byte(body), &got))
	if len(got) != 4 || hdr.Get(api.ListingTruncatedHeader) != "" {
		t.Errorf("browse within the limit: %d entries, %s %q; want 4 and none", len(got), api.ListingTruncatedHeader, hdr.Get(api.ListingTruncatedHeader))
	}
}

// TestReadLength reads bytes that are not UTF-8: Data holds U+FFFD for
// each, three bytes for one, and Length the bytes read, where the next
// read starts.
func TestReadLength(t *testing.T) {
	fx, srv := server(t)
	must(t, os.WriteFile(fx.root+"/raw", []byte("\xff\xffAB"), 0o644))
	code, _, body := get(t, srv, "GET", "read", pathQuery("/raw")+"&offset=0")
	var got ReadResult
	must(t, json.Unmarshal([]byte(body), &got))
	if code != 200 || got.Data != "\ufffd\ufffdAB" || got.Length != 4 {
		t.Errorf("read = %d %+v, want data %q and length 4", code, got, "\ufffd\ufffdAB")
	}
}

// TestLiteralPercentNames reads files whose names hold percent-encodings
// of dots, slashes, backslashes, NUL and percent signs, sent escaped once
// as every client escapes a query value: each is that file, decoded
// exactly once, and never what a second decoding would name. The agent
// refused them all (403) when it took a "%2e" left after decoding for a
// client sneaking a dot past it.
func TestLiteralPercentNames(t *testing.T) {
	fx, srv := server(t)
	names := []string{"a%2eb", "%2e%2e", "%2E%2e%2Foutside%2fsecret", "a%2fb", "%252e", "x%00y", "%5c", "100%", "%zz"}
	for _, n := range names {
		fx.write(t, filepath.Join(fx.root, run, "R1", n), []byte("I am "+n), 0o644)
	}
	for _, n := range names {
		p := run + "/latest/" + n
		for _, endpoint := range []string{"read", "download", "browse"} {
			t.Run(n+"/"+endpoint, func(t *testing.T) {
				code, _, body := get(t, srv, "GET", endpoint, pathQuery(p)+"&offset=0")
				var ok bool
				switch endpoint {
				case "read":
					var got ReadResult
					ok = json.Unmarshal([]byte(body), &got) == nil && got.Data == "I am "+n
				case "download":
					ok = body == "I am "+n
				case "browse":
					var got []Entry
					ok = json.Unmarshal([]byte(body), &got) == nil && len(got) == 1 && got[0].Path == "/"+p
				}
				if code != 200 || !ok {
					t.Errorf("%s?%s = %d %q, want 200 with the file %q", endpoint, pathQuery(p), code, body, n)
				}
			})
		}
	}
}

// TestNonUTF8Names lists names that are not valid UTF-8 and follows
// each listed entry as a client does, "path=" and its PathQuery: every
// one reads, downloads and browses as the file it is. JSON cannot carry
// such a path, whose Path shows U+FFFD, and following that answered
// 404: the file was listed and could not be read.
func TestNonUTF8Names(t *testing.T) {
	fx, srv := server(t)
	odd := filepath.Join(fx.root, "odd")
	must(t, os.MkdirAll(filepath.Join(odd, "d\xff"), 0o755))
	contents := map[string]string{
		"\xff\xfe.log":        "utf-16 mark",
		"caf\xe9":             "latin-1",
		"\xc0\xae\xc0\xae":    "overlong dots are a name",
		"d\xff/x":             "in a directory not UTF-8",
		"a%2e\xff":            "a percent sign too",
		"plain":               "valid UTF-8",
		"\xe2\x82":            "a cut rune",
		"sp ace+\xf0\x9f\x98": "spaces and a cut emoji",
	}
	for name, data := range contents {
		fx.write(t, filepath.Join(odd, name), []byte(data), 0o644)
	}
	seen := map[string]bool{}
	var follow func(dir string)
	follow = func(dir string) {
		code, _, body := get(t, srv, "GET", "browse", dir)
		if code != 200 {
			t.Fatalf("browse?%s = %d %s", dir, code, body)
		}
		var entries []Entry
		must(t, json.Unmarshal([]byte(body), &entries))
		for _, e := range entries {
			q := pathQuery(e.Path)
			if e.PathQuery != "" {
				q = "path=" + e.PathQuery
			}
			raw, err := url.ParseQuery(q)
			must(t, err)
			p := raw.Get("path")
			if (e.PathQuery != "") == utf8.ValidString(p) || string([]rune(p)) != e.Path {
				t.Errorf("entry %+v: path_query given %v for %q, valid UTF-8 %v", e, e.PathQuery != "", p, utf8.ValidString(p))
			}
			if strings.HasPrefix(e.Mode, "d") {
				follow(q)
				continue
			}
			rel := strings.TrimPrefix(p, "/odd/")
			seen[rel] = true
			want := contents[rel]
			code, _, body := get(t, srv, "GET", "read", q+"&offset=0")
			var got ReadResult
			if code != 200 || json.Unmarshal([]byte(body), &got) != nil || got.Data != want {
				t.Errorf("read?%s = %d %s, want %q", q, code, body, want)
			}
			if code, _, body := get(t, srv, "GET", "download", q); code != 200 || body != want {
				t.Errorf("download?%s = %d %q, want %q", q, code, body, want)
			}
		}
	}
	follow(pathQuery("/odd"))
	for name := range contents {
		if !seen[name] {
			t.Errorf("%q was not listed, or not followed", name)
		}
	}
	_, _, body := get(t, srv, "GET", "browse", pathQuery("/"+run+"/latest"))
	if strings.Contains(body, "path_query") {
		t.Errorf("a listing of valid UTF-8 paths has path_query, off Mesos's shape: %s", body)
	}
}
