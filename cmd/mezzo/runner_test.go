package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mezzo-cluster/mezzo/agent/files"
	"github.com/mezzo-cluster/mezzo/sdk/operator"
)

// TestDrainFollowsRotation tails a file through the real files API (as
// the master proxies it) while the file is rotated under it, as the
// agent's --sandbox-output-max-bytes does: what was appended to the
// rotated-out file before it moved is not lost, and the tail goes on in
// the new file.
func TestDrainFollowsRotation(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "fw", "task")
	os.MkdirAll(dir, 0o755)
	stdout := filepath.Join(dir, "stdout")
	appendLines := func(path string, from, to int) {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		for i := from; i <= to; i++ {
			fmt.Fprintf(f, "line %d\n", i)
		}
		f.Close()
	}
	srv := httptest.NewServer(http.StripPrefix("/agents/a1", files.NewHandler(root)))
	defer srv.Close()
	ops := operator.New(srv.URL)
	var out strings.Builder
	f := &tailFile{path: "/fw/task/stdout", w: &out}

	appendLines(stdout, 1, 10)
	drain(context.Background(), ops, "a1", f)
	appendLines(stdout, 11, 20) // written before the rotation, not yet read
	if err := os.Rename(stdout, stdout+".1"); err != nil {
		t.Fatal(err)
	}
	appendLines(stdout, 21, 25)
	drain(context.Background(), ops, "a1", f)
	appendLines(stdout, 26, 30)
	drain(context.Background(), ops, "a1", f)

	var want strings.Builder
	for i := 1; i <= 30; i++ {
		fmt.Fprintf(&want, "line %d\n", i)
	}
	if out.String() != want.String() {
		t.Fatalf("tailed:\n%s\nwant lines 1 to 30 in order", out.String())
	}
}
