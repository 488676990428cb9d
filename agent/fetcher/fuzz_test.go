package fetcher

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzExtractTar feeds arbitrary bytes to the .tar.gz extractor: as the
// .tar.gz itself, or (raw) as a tar stream the harness gzips, which lets
// the fuzzer reach the tar reader and the extractor behind it. Extraction
// must not panic, must write nothing outside the sandbox, must leave the
// sandbox empty when it fails, and must leave only files, directories and
// links that stay inside when it succeeds. Seeds are in
// testdata/fuzz/FuzzExtractTar.
func FuzzExtractTar(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte, raw bool) {
		if raw {
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			zw.Write(data)
			zw.Close()
			data = buf.Bytes()
		}
		fuzzExtract(t, data, archiveTgz)
	})
}

// FuzzExtractZip is FuzzExtractTar for zip files.
func FuzzExtractZip(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzExtract(t, data, archiveZip)
	})
}

func fuzzExtract(t *testing.T, data []byte, kind archiveKind) {
	parent, dir := sandbox(t)
	if err := os.WriteFile(filepath.Join(parent, "outside.txt"), []byte("outside"), 0o644); err != nil {
		t.Fatal(err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	fe := &Fetcher{cfg: Config{MaxExtract: 1 << 20}.withDefaults()}
	r := io.NewSectionReader(bytes.NewReader(data), 0, int64(len(data)))
	err = fe.extract(context.Background(), root, r, kind, &budget{})

	// Nothing beside the sandbox, and outside.txt untouched.
	ents, rerr := os.ReadDir(parent)
	if rerr != nil {
		t.Fatal(rerr)
	}
	if len(ents) != 2 {
		t.Fatalf("parent holds %d entries after extraction (err %v)", len(ents), err)
	}
	if b, _ := os.ReadFile(filepath.Join(parent, "outside.txt")); string(b) != "outside" {
		t.Fatalf("outside.txt changed to %q", b)
	}
	if err != nil {
		if tr := tree(t, dir); len(tr) != 0 {
			t.Fatalf("failed extraction (%v) left %q", err, tr)
		}
		return
	}
	checkConfined(t, dir)
}

// checkConfined fails if dir holds anything but regular files, directories
// and links whose targets stay inside dir.
func checkConfined(t *testing.T, dir string) {
	t.Helper()
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			if filepath.IsAbs(target) {
				t.Errorf("%s: absolute link to %s", p, target)
			}
			lex, _ := filepath.Rel(dir, filepath.Join(filepath.Dir(p), target))
			if !filepath.IsLocal(lex) {
				t.Errorf("%s: link to %s leads outside as written", p, target)
			}
			if res, err := filepath.EvalSymlinks(p); err == nil {
				if rel, _ := filepath.Rel(real, res); !filepath.IsLocal(rel) {
					t.Errorf("%s: link resolves to %s, outside", p, res)
				}
			}
		case d.IsDir(), d.Type().IsRegular():
		default:
			t.Errorf("%s: file of type %v", p, d.Type())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// FuzzOutputName checks that no URI and output_file yield an output name
// that is empty, absolute, climbs with "..", holds control characters or
// leads outside the sandbox, and that redact never shows user information.
// Seeds are in testdata/fuzz/FuzzOutputName.
func FuzzOutputName(f *testing.F) {
	moduleURL := func(s string) string { return "http://master/api/v1/modules/" + s }
	f.Fuzz(func(t *testing.T, value, outputFile string) {
		if u, err := url.Parse(value); err == nil && u.User != nil {
			if r, err := url.Parse(redact(value)); err == nil && r.User != nil {
				t.Errorf("redact(%q) = %q keeps user information", value, redact(value))
			}
		}
		src, err := parseSource(value, moduleURL)
		if err != nil {
			return
		}
		name, err := outputName(src, outputFile)
		if err != nil {
			return
		}
		if !filepath.IsLocal(name) || path.Clean(name) != name || strings.HasPrefix(name, "/") {
			t.Fatalf("outputName(%q, %q) = %q, not a clean local path", value, outputFile, name)
		}
		for _, e := range strings.Split(name, "/") {
			if err := checkName(e); err != nil {
				t.Fatalf("outputName(%q, %q) = %q: element %q: %v", value, outputFile, name, e, err)
			}
		}
		sandbox := "/sandbox"
		if p := filepath.Join(sandbox, name); !strings.HasPrefix(p, sandbox+"/") {
			t.Fatalf("outputName(%q, %q) = %q leads to %q", value, outputFile, name, p)
		}
	})
}
