package fetcher

import (
	"archive/tar"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mezzo-cluster/mezzo/api"
)

func TestExtract(t *testing.T) {
	bz2, err := os.ReadFile("testdata/hello.tar.bz2") // made with the bzip2 CLI; see testdata/README.md
	if err != nil {
		t.Fatal(err)
	}
	common := []entry{
		{name: "./"},
		{name: "./bin/"},
		{name: "./bin/run", body: "#!/bin/sh", mode: 0o755},
		{name: "lib/libx.so.1", body: "elf"},
		{name: "lib/libx.so", typ: tar.TypeSymlink, link: "libx.so.1"},
		{name: "bin/lib", typ: tar.TypeSymlink, link: "../lib"},
		{name: "dangling", typ: tar.TypeSymlink, link: "not/yet/there"},
	}
	commonTree := []string{
		"bin/", "bin/lib -> ../lib", "bin/run:#!/bin/sh", "dangling -> not/yet/there",
		"lib/", "lib/libx.so -> libx.so.1", "lib/libx.so.1:elf",
	}
	tests := []struct {
		name     string
		file     string
		body     []byte
		wantTree []string
	}{
		{name: "tar.gz", file: "app.tar.gz", body: tgzBytes(t, common), wantTree: commonTree},
		{name: "tgz", file: "app.tgz", body: tgzBytes(t, common), wantTree: commonTree},
		{name: "tar", file: "app.tar", body: tarBytes(t, common), wantTree: commonTree},
		{name: "zip", file: "app.zip", body: zipBytes(t, common), wantTree: commonTree},
		{name: "upper-case zip", file: "APP.ZIP", body: zipBytes(t, common), wantTree: commonTree},
		{name: "tar.bz2", file: "hello.tar.bz2", body: bz2,
			wantTree: []string{"dir/", "dir/nested.txt:nested\n", "hello.txt:hello from bzip2\n"}},
		{name: "hard link", file: "h.tgz", body: tgzBytes(t, []entry{
			{name: "a/orig", body: "same"},
			{name: "b/copy", typ: tar.TypeLink, link: "a/orig"},
		}), wantTree: []string{"a/", "a/orig:same", "b/", "b/copy:same"}},
		{name: "later entry replaces earlier", file: "r.tgz", body: tgzBytes(t, []entry{
			{name: "f", body: "one"},
			{name: "f", body: "two"},
			{name: "l", typ: tar.TypeSymlink, link: "f"},
			{name: "l", body: "file now"},
		}), wantTree: []string{"f:two", "l:file now"}},
		{name: "link to directory used as a path", file: "d.tgz", body: tgzBytes(t, []entry{
			{name: "real/"},
			{name: "alias", typ: tar.TypeSymlink, link: "real"},
			{name: "alias/x", body: "through"},
		}), wantTree: []string{"alias -> real", "real/", "real/x:through"}},
		{name: "global header skipped", file: "g.tar", body: tarBytes(t, []entry{
			{name: "pax_global_header", typ: tar.TypeXGlobalHeader},
			{name: "x", body: "x"},
		}), wantTree: []string{"x:x"}},
	}
	srv := newServer(t, map[string][]byte{})
	for _, tt := range tests {
		srv.files["/"+tt.file] = tt.body
	}
	f := newFetcher(t, Config{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent, dir := sandbox(t)
			got, err := fetch(t, f, api.CommandURI{Value: srv.URL + "/" + tt.file}, dir)
			if err != nil {
				t.Fatal(err)
			}
			if got != dir {
				t.Errorf("path = %q, want the sandbox %q", got, dir)
			}
			if tr := tree(t, dir); !slices.Equal(tr, tt.wantTree) {
				t.Errorf("sandbox = %q\nwant %q", tr, tt.wantTree)
			}
			if tr := tree(t, parent); len(tr) != len(tt.wantTree)+1 {
				t.Errorf("written outside the sandbox: %q", tr)
			}
		})
	}
}

func TestExtractModes(t *testing.T) {
	srv := newServer(t, map[string][]byte{"/m.tgz": tgzBytes(t, []entry{
		{name: "run", body: "x", mode: 0o4777},
		{name: "ro", body: "y", mode: 0o400},
	})})
	f := newFetcher(t, Config{})
	_, dir := sandbox(t)
	if _, err := fetch(t, f, api.CommandURI{Value: srv.URL + "/m.tgz"}, dir); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]os.FileMode{"run": 0o755, "ro": 0o600} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", name, fi.Mode(), want)
		}
	}
}

func TestExtractMerges(t *testing.T) {
	srv := newServer(t, map[string][]byte{
		"/a.tgz":        tgzBytes(t, []entry{{name: "bin/a", body: "a"}, {name: "shared", body: "from a"}}),
		"/b.zip":        zipBytes(t, []entry{{name: "bin/b", body: "b"}, {name: "shared", body: "from b"}}),
		"/conflict.tgz": tgzBytes(t, []entry{{name: "new", body: "n"}, {name: "bin", body: "a file where a directory is"}}),
		"/overlink.tgz": tgzBytes(t, []entry{{name: "new", body: "n"}, {name: "ln/x", body: "x"}}),
	})
	f := newFetcher(t, Config{})
	_, dir := sandbox(t)
	if err := os.Symlink("bin", filepath.Join(dir, "ln")); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"/a.tgz", "/b.zip"} {
		if _, err := fetch(t, f, api.CommandURI{Value: srv.URL + u}, dir); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"bin/", "bin/a:a", "bin/b:b", "ln -> bin", "shared:from b"}
	if tr := tree(t, dir); !slices.Equal(tr, want) {
		t.Fatalf("sandbox = %q, want %q", tr, want)
	}
	for _, u := range []string{"/conflict.tgz", "/overlink.tgz"} {
		_, err := fetch(t, f, api.CommandURI{Value: srv.URL + u}, dir)
		if err == nil || !strings.Contains(err.Error(), "a directory and a file meet") {
			t.Fatalf("%s: error = %v", u, err)
		}
		if tr := tree(t, dir); !slices.Equal(tr, want) {
			t.Errorf("%s: sandbox changed to %q", u, tr)
		}
	}
}

func TestExtractRefused(t *testing.T) {
	outsideLink := []entry{{name: "sub/up", typ: tar.TypeSymlink, link: ".."}, {name: "esc", typ: tar.TypeSymlink, link: "sub/up/.."}}
	tests := []struct {
		name      string
		entries   []entry
		wantEntry string // the entry the error must name
		tarOnly   bool
	}{
		{name: "dot-dot", entries: []entry{{name: "ok", body: "ok"}, {name: "../evil", body: "evil"}}, wantEntry: "../evil"},
		{name: "dot-dot inside", entries: []entry{{name: "a/../../evil", body: "evil"}}, wantEntry: "a/../../evil"},
		{name: "absolute", entries: []entry{{name: "/abs/evil", body: "evil"}}, wantEntry: "/abs/evil"},
		{name: "backslash", entries: []entry{{name: `..\evil`, body: "evil"}}, wantEntry: `..\\evil`},
		{name: "symlink to /etc", entries: []entry{{name: "etc", typ: tar.TypeSymlink, link: "/etc"}}, wantEntry: "etc"},
		{name: "symlink to /etc then write through it", entries: []entry{
			{name: "etc", typ: tar.TypeSymlink, link: "/etc"}, {name: "etc/evil", body: "evil"}}, wantEntry: "etc"},
		{name: "symlink climbing", entries: []entry{{name: "a/up", typ: tar.TypeSymlink, link: "../../.."}}, wantEntry: "a/up"},
		{name: "chained symlinks", entries: outsideLink, wantEntry: "esc"},
		{name: "write through chained symlinks", entries: append(slices.Clone(outsideLink), entry{name: "esc/evil", body: "evil"}),
			wantEntry: "esc/evil"},
		{name: "symlink retargeted after use", entries: []entry{
			{name: "d/e/"}, {name: "x", typ: tar.TypeSymlink, link: "d/e"},
			{name: "y", typ: tar.TypeSymlink, link: "x/.."}, // d/e/.. is d: fine for now
			{name: "x", typ: tar.TypeSymlink, link: "."}},   // now y is ./.., outside
			wantEntry: "y"},
		{name: "symlink loop", entries: []entry{{name: "a", typ: tar.TypeSymlink, link: "b"}, {name: "b", typ: tar.TypeSymlink, link: "a"}},
			wantEntry: "a"},
		{name: "hardlink outside", entries: []entry{{name: "h", typ: tar.TypeLink, link: "../outside.txt"}}, wantEntry: "h", tarOnly: true},
		{name: "hardlink absolute", entries: []entry{{name: "h", typ: tar.TypeLink, link: "/etc/passwd"}}, wantEntry: "h", tarOnly: true},
		{name: "hardlink through symlink", entries: []entry{
			{name: "up", typ: tar.TypeSymlink, link: "/etc"}, {name: "h", typ: tar.TypeLink, link: "up/passwd"}},
			wantEntry: "up", tarOnly: true},
		{name: "hardlink through chained symlinks", entries: append(slices.Clone(outsideLink),
			entry{name: "h", typ: tar.TypeLink, link: "esc/outside.txt"}), wantEntry: "h", tarOnly: true},
		{name: "hardlink to symlink", entries: []entry{
			{name: "a/l", typ: tar.TypeSymlink, link: ".."}, {name: "h", typ: tar.TypeLink, link: "a/l"}},
			wantEntry: "h", tarOnly: true},
		{name: "char device", entries: []entry{{name: "null", typ: tar.TypeChar}}, wantEntry: "null"},
		{name: "block device", entries: []entry{{name: "sda", typ: tar.TypeBlock}}, wantEntry: "sda", tarOnly: true},
		{name: "fifo", entries: []entry{{name: "pipe", typ: tar.TypeFifo}}, wantEntry: "pipe", tarOnly: true},
	}
	for _, format := range []string{"tar.gz", "zip"} {
		for _, tt := range tests {
			if tt.tarOnly && format == "zip" {
				continue
			}
			t.Run(format+"/"+tt.name, func(t *testing.T) {
				var body []byte
				if format == "zip" {
					body = zipBytes(t, tt.entries)
				} else {
					body = tgzBytes(t, tt.entries)
				}
				srv := newServer(t, map[string][]byte{"/a." + format: body})
				f := newFetcher(t, Config{})
				parent, dir := sandbox(t)
				if err := os.WriteFile(filepath.Join(parent, "outside.txt"), []byte("outside"), 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, "before"), []byte("before"), 0o644); err != nil {
					t.Fatal(err)
				}
				_, err := fetch(t, f, api.CommandURI{Value: srv.URL + "/a." + format}, dir)
				if err == nil {
					t.Fatalf("no error; sandbox = %q", tree(t, dir))
				}
				if want := "entry \"" + tt.wantEntry + "\""; !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not name %s", err, want)
				}
				want := []string{"outside.txt:outside", "sandbox/", "sandbox/before:before"}
				if tr := tree(t, parent); !slices.Equal(tr, want) {
					t.Errorf("after the refusal: %q, want %q", tr, want)
				}
			})
		}
	}
}

func TestExtractBomb(t *testing.T) {
	const limit = 1 << 20
	big := []entry{{name: "small", body: "s"}, {name: "zeros", size: 8 * limit}}
	many := []entry{{name: "a", size: limit / 2}, {name: "b", size: limit / 2}, {name: "c", size: limit / 2}}
	tests := []struct {
		name string
		file string
		body []byte
	}{
		{name: "tar.gz one big file", file: "b.tar.gz", body: tgzBytes(t, big)},
		{name: "tar.gz files adding up", file: "m.tar.gz", body: tgzBytes(t, many)},
		{name: "zip one big file", file: "b.zip", body: zipBytes(t, big)},
		{name: "zip files adding up", file: "m.zip", body: zipBytes(t, many)},
		{name: "gz", file: "b.gz", body: gzipBytes(t, make([]byte, 8*limit))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if len(tt.body) > limit/8 {
				t.Fatalf("the bomb is %d bytes, not much smaller than what it expands to", len(tt.body))
			}
			srv := newServer(t, map[string][]byte{"/" + tt.file: tt.body})
			f := newFetcher(t, Config{MaxExtract: limit})
			parent, dir := sandbox(t)
			_, err := fetch(t, f, api.CommandURI{Value: srv.URL + "/" + tt.file}, dir)
			if !errors.Is(err, errTooLarge) {
				t.Fatalf("error = %v, want MaxExtract exceeded", err)
			}
			if tr := tree(t, parent); !slices.Equal(tr, []string{"sandbox/"}) {
				t.Errorf("left behind: %q", tr)
			}
		})
	}
}

func TestExtractCorrupt(t *testing.T) {
	good := tgzBytes(t, []entry{{name: "a", body: strings.Repeat("data", 1000)}})
	srv := newServer(t, map[string][]byte{
		"/bad.tgz":       []byte("not gzip at all"),
		"/truncated.tgz": good[:len(good)/2],
		"/bad.zip":       []byte("PK not really"),
		"/bad.tar":       []byte(strings.Repeat("x", 1024)),
		"/bad.gz":        []byte("nope"),
	})
	f := newFetcher(t, Config{})
	for _, p := range []string{"/bad.tgz", "/truncated.tgz", "/bad.zip", "/bad.tar", "/bad.gz"} {
		parent, dir := sandbox(t)
		if _, err := fetch(t, f, api.CommandURI{Value: srv.URL + p}, dir); err == nil {
			t.Errorf("%s: no error", p)
		}
		if tr := tree(t, parent); !slices.Equal(tr, []string{"sandbox/"}) {
			t.Errorf("%s: left behind: %q", p, tr)
		}
	}
}
