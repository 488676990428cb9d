package fetcher_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/mezzo-cluster/mezzo/agent/fetcher"
	"github.com/mezzo-cluster/mezzo/api"
)

func ExampleFetcher_FetchAll() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/app.tgz":
			w.Write(appTgz())
		case "/tool":
			w.Write([]byte("#!/bin/sh\necho tool\n"))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()

	f, err := fetcher.New(fetcher.Config{})
	if err != nil {
		panic(err)
	}
	sandbox, _ := os.MkdirTemp("", "sandbox")
	defer os.RemoveAll(sandbox)
	uris := []api.CommandURI{
		{Value: srv.URL + "/app.tgz"},                         // extracted
		{Value: srv.URL + "/tool", Executable: api.Ptr(true)}, // mode 0755
	}
	limit := fetcher.Limit{Bytes: 100 << 20, Origin: "the task's disk of 100 MB"}
	if err := f.FetchAll(context.Background(), uris, sandbox, limit); err != nil {
		panic(err)
	}
	for _, name := range []string{"app/run.sh", "tool"} {
		fi, _ := os.Stat(filepath.Join(sandbox, name))
		fmt.Println(name, fi.Mode())
	}

	_, err = f.Fetch(context.Background(), api.CommandURI{Value: srv.URL + "/missing"}, sandbox)
	fmt.Println(err != nil)
	// Output:
	// app/run.sh -rwxr-xr-x
	// tool -rwxr-xr-x
	// true
}

// appTgz returns a .tar.gz holding app/run.sh.
func appTgz() []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	body := "#!/bin/sh\necho app\n"
	tw.WriteHeader(&tar.Header{Name: "app/run.sh", Mode: 0o755, Size: int64(len(body))})
	tw.Write([]byte(body))
	tw.Close()
	zw.Close()
	return buf.Bytes()
}
