package sandbox

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// rotatedFiles returns name, name.1, name.2, ... as they exist in dir,
// oldest last, and fails on a gap.
func rotatedFiles(t *testing.T, dir, name string) []string {
	t.Helper()
	var out []string
	for k := 0; ; k++ {
		p := filepath.Join(dir, name)
		if k > 0 {
			p += fmt.Sprintf(".%d", k)
		}
		b, err := os.ReadFile(p)
		if os.IsNotExist(err) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
}

func TestRotator(t *testing.T) {
	tests := []struct {
		name   string
		lim    outputLimits
		writes []string
		want   []string // stdout, stdout.1, ...
	}{
		{"within the bound", outputLimits{10, 2}, []string{"abc", "def"}, []string{"abcdef"}},
		{"rotates and keeps two", outputLimits{4, 2}, []string{"aaa", "bbb", "ccc", "ddd"}, []string{"ddd", "ccc", "bbb"}},
		{"keeps none", outputLimits{4, 0}, []string{"aaa", "bbb", "ccc"}, []string{"ccc"}},
		{"a write larger than the bound is split", outputLimits{4, 3}, []string{"ab", "0123456789", "cd"}, []string{"89cd", "4567", "0123", "ab"}},
		{"split at a line break", outputLimits{8, 3}, []string{"one\ntwo\nthree\n"}, []string{"three\n", "one\ntwo\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			r, err := newRotator(dir, StdoutFile, tt.lim)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.writes {
				if _, err := r.Write([]byte(w)); err != nil {
					t.Fatal(err)
				}
			}
			r.close()
			if got := rotatedFiles(t, dir, StdoutFile); strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Fatalf("files %q, want %q", got, tt.want)
			}
		})
	}
}

// TestRotatorFollowsNoLink puts a link to a file outside the sandbox
// where the task's output goes, as a task that owns its sandbox can,
// before a rotation: the rotation makes a file of its own there, and the
// file outside is untouched, whether old files are kept (the link is
// renamed away) or not (the link would be truncated and written through).
func TestRotatorFollowsNoLink(t *testing.T) {
	for _, keep := range []int{0, 2} {
		dir, outside := t.TempDir(), filepath.Join(t.TempDir(), "victim")
		if err := os.WriteFile(outside, []byte("precious\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		r, err := newRotator(dir, StdoutFile, outputLimits{maxBytes: 4, keep: keep})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Write([]byte("abc")); err != nil {
			t.Fatal(err)
		}
		base := filepath.Join(dir, StdoutFile)
		if err := os.Remove(base); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(outside, base); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Write([]byte("PWNED\n")); err != nil {
			t.Fatalf("keep %d: %v", keep, err)
		}
		r.close()
		if b, _ := os.ReadFile(outside); string(b) != "precious\n" {
			t.Errorf("keep %d: the file outside holds %q", keep, b)
		}
		if fi, err := os.Lstat(base); err != nil || !fi.Mode().IsRegular() {
			t.Errorf("keep %d: %s after the rotation: %v, %v; want a regular file", keep, StdoutFile, fi, err)
		}
	}
}

// TestOutputRotates runs tasks that print 100 numbered lines into
// outputs bounded at 200 bytes with 2 old files kept: the newest lines
// are all in the files when the result is reported, the oldest were
// rotated away, and no file passes the bound.
func TestOutputRotates(t *testing.T) {
	t.Parallel()
	check := func(t *testing.T, dir string) {
		files := rotatedFiles(t, dir, StdoutFile)
		if len(files) != 3 {
			t.Fatalf("%d stdout files, want 3 (stdout, stdout.1, stdout.2): %q; stderr %q", len(files), files, readFile(t, filepath.Join(dir, StderrFile)))
		}
		for i, f := range files {
			if len(f) > 200 {
				t.Errorf("file %d holds %d bytes, past the bound of 200", i, len(f))
			}
		}
		if !strings.HasSuffix(files[0], "line 100\n") {
			t.Errorf("the newest file ends %q, want the last line", files[0][max(0, len(files[0])-20):])
		}
		all := files[2] + files[1] + files[0]
		if !strings.Contains(all, "line 90\nline 91\n") || strings.Contains(all, "line 1\n") {
			t.Errorf("the files hold %q", all)
		}
	}
	spec := func(t *testing.T) Spec {
		return Spec{Dir: sandboxDir(t), OutputMaxBytes: 200, OutputKeep: 2}
	}
	t.Run("native", func(t *testing.T) {
		t.Parallel()
		s := spec(t)
		p, err := StartCommand(context.Background(), s, CommandSpec{Shell: true, Value: "for i in $(seq 1 100); do echo line $i; done"})
		if err != nil {
			t.Fatal(err)
		}
		checkResult(t, wait(t, p), 0, ReasonNone)
		check(t, s.Dir)
	})
	for _, engine := range Engines() {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			e := testEngine(t, engine)
			m := compile(t, e, goModule(t, "guest"))
			s := spec(t)
			var args []string
			for i := 1; i <= 100; i++ {
				args = append(args, fmt.Sprintf("line %d", i))
			}
			p, err := e.StartWasm(context.Background(), m, s, WasmSpec{Engine: engine, Args: append([]string{"lines"}, args...)})
			if err != nil {
				t.Fatal(err)
			}
			checkResult(t, wait(t, p), 0, ReasonNone)
			check(t, s.Dir)
		})
	}
}

func TestOutputBoundsRefused(t *testing.T) {
	for _, s := range []Spec{{OutputMaxBytes: -1}, {OutputKeep: -1}, {OutputKeep: 1001}} {
		s.Dir = t.TempDir()
		if _, err := StartCommand(context.Background(), s, CommandSpec{Shell: true, Value: "true"}); err == nil || !strings.Contains(err.Error(), "output bounds") {
			t.Errorf("%+v: %v", s, err)
		}
	}
}

// TestOutputRotationObstructed runs a task that puts a directory where
// its stdout's old file goes (stdout.1), so that no rotation can keep the
// old file, and then writes more than a pipe holds: the task is not
// stopped nor its writes failed (under wasmtime a failed write once
// raised SIGPIPE and killed the test binary), each rotation drops the old
// file instead of keeping it, and the last line is in stdout.
func TestOutputRotationObstructed(t *testing.T) {
	t.Parallel()
	for _, engine := range Engines() {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			e := testEngine(t, engine)
			s := Spec{Dir: sandboxDir(t), OutputMaxBytes: 1000, OutputKeep: 1}
			p, err := e.StartWasm(context.Background(), compile(t, e, watModules["rotblock"]), s, WasmSpec{Engine: engine})
			if err != nil {
				t.Fatal(err)
			}
			checkResult(t, wait(t, p), 0, ReasonNone)
			stdout := readFile(t, filepath.Join(s.Dir, StdoutFile))
			if len(stdout) > 1000 || !strings.HasSuffix(stdout, "end\n") {
				t.Errorf("stdout holds %d bytes ending %q; want at most 1000 ending with the last line", len(stdout), stdout[max(0, len(stdout)-20):])
			}
			if info, err := os.Stat(filepath.Join(s.Dir, StdoutFile+".1")); err != nil || !info.IsDir() {
				t.Errorf("stdout.1 is no longer the task's directory: %v", err)
			}
			if stderr := readFile(t, filepath.Join(s.Dir, StderrFile)); stderr != "" {
				t.Errorf("stderr %q, want nothing: no output was dropped", stderr)
			}
		})
	}
}

// scriptedReader returns its chunks one Read at a time, running each
// chunk's action first, then io.EOF.
type scriptedReader []scriptedChunk

type scriptedChunk struct {
	before func()
	data   string
}

func (r *scriptedReader) Read(p []byte) (int, error) {
	if len(*r) == 0 {
		return 0, io.EOF
	}
	c := (*r)[0]
	*r = (*r)[1:]
	if c.before != nil {
		c.before()
	}
	return copy(p, c.data), nil
}

// TestCopyOutputDrops feeds copyOutput chunks while the task's stdout
// cannot be created afresh (a directory that is not empty stands in its
// place): those chunks are dropped, not waited for, the copy goes on, and
// stderr says how much was lost, as soon as stdout works again or at the
// end.
func TestCopyOutputDrops(t *testing.T) {
	tests := []struct {
		name       string
		unblock    bool // remove the directory before the last chunk
		wantStdout string
		wantLost   int
	}{
		{"stdout works again", true, "ccc", 5},
		{"stdout never works again", false, "", 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			stdout := filepath.Join(dir, StdoutFile)
			block := func() {
				if err := os.Remove(stdout); err != nil {
					t.Fatal(err)
				}
				if err := os.MkdirAll(filepath.Join(stdout, "x"), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			unblock := func() {
				if tt.unblock {
					if err := os.RemoveAll(stdout); err != nil {
						t.Fatal(err)
					}
				}
			}
			to, err := newRotator(dir, StdoutFile, outputLimits{maxBytes: 4})
			if err != nil {
				t.Fatal(err)
			}
			notes, err := newRotator(dir, StderrFile, outputLimits{maxBytes: 1000})
			if err != nil {
				t.Fatal(err)
			}
			from := scriptedReader{{nil, "aaa"}, {block, "bbb"}, {nil, "dd"}, {unblock, "ccc"}}
			copyOutput(StdoutFile, &from, to, notes)
			to.close()
			notes.close()
			if tt.unblock {
				if got := readFile(t, stdout); got != tt.wantStdout {
					t.Errorf("stdout %q, want %q", got, tt.wantStdout)
				}
			}
			want := fmt.Sprintf("mezzo: %d bytes of stdout were dropped: rotate stdout: ", tt.wantLost)
			if got := readFile(t, filepath.Join(dir, StderrFile)); !strings.HasPrefix(got, want) || strings.Count(got, "\n") != 1 {
				t.Errorf("stderr %q, want one line beginning %q", got, want)
			}
		})
	}
}
