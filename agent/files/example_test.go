package files_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/mezzo-cluster/mezzo/agent/files"
)

// An agent serves its sandboxes; a run's stdout is read through the
// "latest" link, and a path that climbs out of the root is refused.
func ExampleHandler() {
	root, _ := os.MkdirTemp("", "sandboxes")
	defer os.RemoveAll(root)
	run := filepath.Join(root, "frameworks", "F", "executors", "E", "runs")
	os.MkdirAll(filepath.Join(run, "c1"), 0o755)
	os.WriteFile(filepath.Join(run, "c1", "stdout"), []byte("hello\n"), 0o644)
	os.Symlink("c1", filepath.Join(run, "latest"))

	mux := http.NewServeMux()
	mux.Handle("/files/", files.NewHandler(root))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	for _, query := range []string{
		"read?path=/frameworks/F/executors/E/runs/latest/stdout&offset=0",
		"read?path=/frameworks/F/executors/E/runs/latest/stdout",
		"browse?path=/../../etc",
	} {
		resp, err := http.Get(srv.URL + "/files/" + query)
		if err != nil {
			fmt.Println(err)
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Printf("%d %s\n", resp.StatusCode, body)
	}
	// Output:
	// 200 {"offset":0,"data":"hello\n","length":6}
	// 200 {"offset":6,"data":""}
	// 403 Path "/../../etc" climbs above the root.
}
