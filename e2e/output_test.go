package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOutputRotation runs a chatty task on an agent that bounds output
// files at 1000 bytes, keeping 2 rotated files: no file passes the
// bound, the newest lines are all there, the oldest are gone, and mezzo
// run still prints the end of the output.
func TestOutputRotation(t *testing.T) {
	work := t.TempDir()
	c := startDevIn(t, work, "--sandbox-output-max-bytes", "1000", "--sandbox-output-keep", "2")
	out, errOut, code := c.mezzo(t, "run", "--command", "for i in $(seq 1 500); do echo line $i; done")
	if code != 0 || !strings.HasSuffix(out, "line 499\nline 500\n") {
		t.Fatalf("exit %d, stdout ending %q, stderr %q", code, out[max(0, len(out)-30):], errOut)
	}
	var matches []string
	all, _ := filepath.Glob(filepath.Join(work, "*", "sandboxes", "*", "*", "runs", "*", "tasks", "*", "stdout"))
	for _, m := range all {
		if !strings.Contains(m, "/runs/latest/") { // the same run, through its link
			matches = append(matches, m)
		}
	}
	if len(matches) != 1 {
		t.Fatalf("found stdout files %v, want one task's", matches)
	}
	stdout := matches[0]
	var kept string
	for _, name := range []string{stdout + ".2", stdout + ".1", stdout} {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > 1000 {
			t.Errorf("%s holds %d bytes, past the bound", filepath.Base(name), len(b))
		}
		kept += string(b)
	}
	if _, err := os.Stat(stdout + ".3"); err == nil {
		t.Errorf("a third rotated file was kept")
	}
	if !strings.HasSuffix(kept, "line 500\n") || strings.Contains(kept, "line 1\n") {
		t.Fatalf("the files hold %d bytes ending %q", len(kept), kept[max(0, len(kept)-20):])
	}
	// What is kept is contiguous: every line from the first kept to 500.
	first := strings.SplitN(kept, "\n", 2)[0]
	var n int
	fmt.Sscanf(first, "line %d", &n)
	var want strings.Builder
	for i := n; i <= 500; i++ {
		fmt.Fprintf(&want, "line %d\n", i)
	}
	if kept != want.String() {
		t.Fatalf("the kept output is not lines %d to 500 in order", n)
	}
}
