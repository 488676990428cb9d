package agent

import (
	"bytes"
	"compress/gzip"
	"io/fs"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mezzo-cluster/mezzo/agent/fetcher"
	"github.com/mezzo-cluster/mezzo/api"
)

func TestFetchLimitOf(t *testing.T) {
	const mb = 1 << 20
	unknown := math.Inf(1)
	tests := []struct {
		name        string
		disk        uint64
		total, free float64
		headroom    float64
		want        fetcher.Limit
	}{
		{name: "no disk, free space unknown", free: unknown, headroom: 0.1, want: fetcher.Limit{}},
		{name: "the task's disk, free space unknown", disk: 100 * mb, free: unknown, headroom: 0.1,
			want: fetcher.Limit{Bytes: 100 * mb, Origin: "the task's disk of 100 MB"}},
		{name: "the task's disk, less than the free space", disk: 100 * mb, total: 1000 * mb, free: 500 * mb, headroom: 0.1,
			want: fetcher.Limit{Bytes: 100 * mb, Origin: "the task's disk of 100 MB"}},
		{name: "a fractional disk", disk: mb / 2, total: 1000 * mb, free: 500 * mb, headroom: 0.1,
			want: fetcher.Limit{Bytes: mb / 2, Origin: "the task's disk of 0.5 MB"}},
		{name: "the free space less the reserve, less than the disk", disk: 100 * mb, total: 1000 * mb, free: 150 * mb, headroom: 0.1,
			want: fetcher.Limit{Bytes: 50 * mb, Origin: "the 150 MB free on the agent's disk, less its reserve"}},
		{name: "the free space less the reserve, no disk", total: 120 * mb, free: 60 * mb, headroom: 0.25,
			want: fetcher.Limit{Bytes: 30 * mb, Origin: "the 60 MB free on the agent's disk, less its reserve"}},
		{name: "no reserve", total: 120 * mb, free: 60 * mb,
			want: fetcher.Limit{Bytes: 60 * mb, Origin: "the 60 MB free on the agent's disk, less its reserve"}},
		{name: "already into the reserve", disk: 100 * mb, total: 1000 * mb, free: 40 * mb, headroom: 0.1,
			want: fetcher.Limit{Bytes: 0, Origin: "the 40 MB free on the agent's disk, less its reserve"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fetchLimitOf(tt.disk, "task", tt.total, tt.free, tt.headroom); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestFetchLimitReadsDisk checks that the free-space bound comes from the
// file system holding the sandbox: through an injected statfs, exactly,
// and through the real one, that the sandbox's disk is read at all.
func TestFetchLimitReadsDisk(t *testing.T) {
	var asked string
	a := newBareAgent(t, func(c *Config) {
		c.SandboxGCHeadroom = 0.1
		c.diskSpace = func(dir string) (total, free float64, ok bool) {
			asked = dir
			return 1000 << 20, 300 << 20, true
		}
	})
	dir := t.TempDir()
	want := fetcher.Limit{Bytes: 200 << 20, Origin: "the 300 MB free on the agent's disk, less its reserve", Shared: &a.fetchRoom}
	if got := a.fetchLimit(0, "task", dir); got != want || asked != dir {
		t.Errorf("got %+v for %s, want %+v for %s", got, asked, want, dir)
	}

	total, free, ok := diskSpace(dir)
	if runtime.GOOS != "linux" {
		if ok {
			t.Errorf("diskSpace read %v of %v bytes free off Linux", free, total)
		}
		return
	}
	if !ok || total <= 0 || free < 0 || free > total {
		t.Fatalf("diskSpace(%s) = %v, %v, %v", dir, total, free, ok)
	}
	a.cfg.diskSpace = nil
	if got := a.fetchLimit(math.MaxUint64, "task", dir); !strings.Contains(got.Origin, "free on the agent's disk") {
		t.Errorf("a disk larger than any file system bounds the fetch: %+v", got)
	}
}

// gzipZeros returns a .gz of n zero bytes: a small bomb.
func gzipZeros(t *testing.T, n int) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(make([]byte, n)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestFetchBoundedByDisk launches tasks that fetch a .gz of 8 MiB of
// zeros: with a disk of 1 MB, or on a disk whose free space less its
// reserve is 2 MB, the task fails, REASON_CONTAINER_LAUNCH_FAILED, its
// message naming the URI and the limit's origin, and nothing of the bomb
// is left in its sandbox; with a disk of 16 MB on a roomy disk it fits.
func TestFetchBoundedByDisk(t *testing.T) {
	bomb := gzipZeros(t, 8<<20)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(bomb) }))
	t.Cleanup(srv.Close)
	roomy := func(string) (float64, float64, bool) { return 10 << 30, 5 << 30, true }
	short := func(string) (float64, float64, bool) { return 100 << 20, 12 << 20, true } // 10 MB reserved
	tests := []struct {
		name      string
		resources string
		space     func(string) (float64, float64, bool)
		want      string // in the failure's message; "" when the fetch fits
	}{
		{name: "the task's disk", resources: "cpus:0.1;mem:32;disk:1", space: roomy, want: "(the task's disk of 1 MB)"},
		{name: "the free space", resources: "cpus:0.1;mem:32", space: short, want: "(the 12 MB free on the agent's disk, less its reserve)"},
		{name: "within both", resources: "cpus:0.1;mem:32;disk:16", space: roomy},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newBareAgent(t, func(c *Config) {
				c.ExecutorCommand = []string{"/bin/sleep", "60"}
				c.ExecutorShutdownGrace = 100 * time.Millisecond
				c.SandboxGCHeadroom = 0.1
				c.diskSpace = tt.space
			})
			res, err := api.ParseResources(tt.resources)
			if err != nil {
				t.Fatal(err)
			}
			uri := srv.URL + "/bomb.txt.gz"
			a.launch(&api.AgentLaunch{FrameworkInfo: api.FrameworkInfo{ID: &api.FrameworkID{Value: "fw"}}, Tasks: []api.TaskInfo{{
				Name: "t1", TaskID: api.TaskID{Value: "t1"}, Resources: res,
				Command: &api.CommandInfo{Value: "true", URIs: []api.CommandURI{{Value: uri}}},
			}}})
			if tt.want == "" {
				queuedTask(t, a, "fw", "t1")
				if got := sandboxFiles(t, a); len(got) != 1 || filepath.Base(got[0]) != "bomb.txt" {
					t.Errorf("sandboxes hold %q, want the decompressed bomb.txt", got)
				}
				return
			}
			st := awaitStatus(t, a, "t1")
			if st.State != api.TaskFailed || st.Reason != api.ReasonContainerLaunchFailed {
				t.Errorf("task ended %s %s (%s), want TASK_FAILED REASON_CONTAINER_LAUNCH_FAILED", st.State, st.Reason, st.Message)
			}
			for _, w := range []string{uri, tt.want} {
				if !strings.Contains(st.Message, w) {
					t.Errorf("message %q does not say %s", st.Message, w)
				}
			}
			if got := sandboxFiles(t, a); len(got) != 0 {
				t.Errorf("left in the sandboxes: %q", got)
			}
		})
	}
}

// sandboxFiles lists what fetching bomb.txt.gz may have left under the
// agent's sandboxes: bomb.txt, bomb.txt.gz and the fetcher's temporary
// files and directories.
func sandboxFiles(t *testing.T, a *Agent) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(a.cfg.sandboxRoot(), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if n := d.Name(); strings.HasPrefix(n, "bomb") || strings.HasPrefix(n, ".mezzo-") {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestFetchesShareTheRoom launches tasks without a disk resource that
// each fetch a file of 1.5 MB on a disk whose free space less its
// reserve is 2 MB, their downloads held until all have begun: one fits
// alone; two together, each of which would fit alone, may not both
// write theirs, and one at least fails, its message naming the shared
// room, leaving no more in the sandboxes than the room holds.
func TestFetchesShareTheRoom(t *testing.T) {
	const size, room = 3 << 19, 2 << 20
	body := bytes.Repeat([]byte("x"), size)
	for _, n := range []int{1, 2} {
		t.Run(strconv.Itoa(n)+" fetches", func(t *testing.T) {
			var arrived sync.WaitGroup
			arrived.Add(n)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				arrived.Done()
				arrived.Wait() // every fetch has read the free space
				w.Write(body)
			}))
			t.Cleanup(srv.Close)
			a := newBareAgent(t, func(c *Config) {
				c.ExecutorCommand = []string{"/bin/sleep", "60"}
				c.ExecutorShutdownGrace = 100 * time.Millisecond
				c.SandboxGCHeadroom = 0.1
				c.diskSpace = func(string) (float64, float64, bool) { return 100 << 20, 12 << 20, true } // 10 MB reserved
			})
			var ids []string
			for i := range n {
				id := "t" + strconv.Itoa(i)
				ids = append(ids, id)
				launchCommand(a, id, srv.URL+"/"+id+".bin")
			}
			failed := 0
			for _, id := range ids {
				st, ok := queuedOrEnded(t, a, id)
				if ok {
					continue
				}
				failed++
				if st.State != api.TaskFailed || st.Reason != api.ReasonContainerLaunchFailed {
					t.Errorf("task %s ended %s %s (%s), want TASK_FAILED REASON_CONTAINER_LAUNCH_FAILED", id, st.State, st.Reason, st.Message)
				}
				if want := "(the 12 MB free on the agent's disk less its reserve, which the fetches under way share)"; !strings.Contains(st.Message, want) {
					t.Errorf("message %q does not say %s", st.Message, want)
				}
			}
			if n == 1 && failed > 0 {
				t.Errorf("a fetch that fits alone failed")
			}
			if n > 1 && failed == 0 {
				t.Errorf("%d fetches of %d bytes each all fit a room of %d bytes", n, size, room)
			}
			if used := fetchedBytes(t, a); used > room {
				t.Errorf("the sandboxes hold %d bytes fetched, more than the room of %d", used, room)
			}
		})
	}
}

// queuedOrEnded waits until task id of framework "fw" is queued for its
// executor, and reports true, or has ended, and returns its last update.
func queuedOrEnded(t *testing.T, a *Agent, id string) (api.TaskStatus, bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		a.mu.Lock()
		r := a.taskIndex[taskKey{"fw", id}]
		queued := r != nil && r.tasks[id] != nil && r.tasks[id].queued
		a.mu.Unlock()
		if queued {
			return api.TaskStatus{}, true
		}
		if st, ok := a.updates.latest()[taskKey{"fw", id}]; ok && st.State.IsTerminal() {
			return st, false
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("task %s was neither queued nor ended", id)
	return api.TaskStatus{}, false
}

// fetchedBytes adds up the sizes of the regular files under the agent's
// sandboxes.
func fetchedBytes(t *testing.T, a *Agent) int64 {
	t.Helper()
	var n int64
	err := filepath.WalkDir(a.cfg.sandboxRoot(), func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		fi, err := d.Info()
		if err == nil {
			n += fi.Size()
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
