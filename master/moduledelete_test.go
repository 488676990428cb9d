package master

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/api/auth"
	"github.com/mezzo-cluster/mezzo/master/registry"
)

// Two different valid modules: the magic number and version, then nothing
// or a type section with one function type.
var (
	wasmEmpty    = []byte{0, 'a', 's', 'm', 1, 0, 0, 0}
	wasmWithType = []byte{0, 'a', 's', 'm', 1, 0, 0, 0, 1, 4, 1, 0x60, 0, 0}
)

// request sends method to path on tm (with tm.header), without following
// redirects, and returns the status, the Location header and the body.
func (tm *testMaster) request(t *testing.T, method, path string, body []byte) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(method, tm.url+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(tm.header); i += 2 {
		req.Header.Set(tm.header[i], tm.header[i+1])
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

// upload stores wasm through POST /api/v1/modules and returns its sha256.
func (tm *testMaster) upload(t *testing.T, wasm []byte) string {
	t.Helper()
	code, _, body := tm.request(t, http.MethodPost, "/api/v1/modules", wasm)
	var mod api.ModuleInfo
	if code != http.StatusOK || json.Unmarshal([]byte(body), &mod) != nil {
		t.Fatalf("upload: %d %s", code, body)
	}
	return mod.SHA256
}

// storeFile is where tm's store keeps module sha.
func (tm *testMaster) storeFile(sha string) string {
	return filepath.Join(tm.cfg.WorkDir, "modules", sha+".wasm")
}

// wasmTask is a Wasm task of module sha on o's agent.
func wasmTask(id, sha string, o api.Offer) api.TaskInfo {
	task := commandTask(id, o, 0.1, 16)
	task.Command = nil
	task.Container = &api.ContainerInfo{Type: api.ContainerWasm, Wasm: &api.WasmInfo{SHA256: sha}}
	return task
}

// TestModuleDelete deletes modules through DELETE /api/v1/modules/{sha256}
// on a master with a real registry: malformed names answer 400, unknown
// and already deleted modules 404, a stored module 204, under /master
// too. A deleted module's file is gone, the registry lists it no more,
// GET and the list do not show it, and a launch of it is refused exactly
// as a launch of a module never uploaded is; uploading it again stores
// it again and makes it launchable.
func TestModuleDelete(t *testing.T) {
	rm := startReplicatedMaster(t, t.TempDir(), "127.0.0.1:0")
	sha := rm.upload(t, wasmEmpty)
	other := rm.upload(t, wasmWithType)
	tests := []struct {
		name string
		path string
		code int
		want string
	}{
		{"not hex", "/api/v1/modules/" + strings.Repeat("zz", 32), http.StatusBadRequest, "lowercase hex sha256"},
		{"upper case", "/api/v1/modules/" + strings.ToUpper(sha), http.StatusBadRequest, "lowercase hex sha256"},
		{"too short", "/api/v1/modules/" + sha[:63], http.StatusBadRequest, "lowercase hex sha256"},
		{"unknown", "/api/v1/modules/" + strings.Repeat("e", 64), http.StatusNotFound, "not found"},
		{"stored", "/api/v1/modules/" + sha, http.StatusNoContent, ""},
		{"already deleted", "/api/v1/modules/" + sha, http.StatusNotFound, "not found"},
		{"under /master", "/master/api/v1/modules/" + other, http.StatusNoContent, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, body := rm.request(t, http.MethodDelete, tt.path, nil)
			if code != tt.code || !strings.Contains(body, tt.want) {
				t.Fatalf("DELETE %s: %d %q, want %d with %q", tt.path, code, body, tt.code, tt.want)
			}
		})
	}

	for _, s := range []string{sha, other} {
		if _, err := os.Stat(rm.storeFile(s)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("module %s's file after its deletion: %v, want it gone", s, err)
		}
		if listed, err := rm.reg.HasModule(s); err != nil || listed {
			t.Errorf("the registry still lists module %s (%v)", s, err)
		}
		if code, _, body := rm.request(t, http.MethodGet, "/api/v1/modules/"+s, nil); code != http.StatusNotFound {
			t.Errorf("GET of deleted module %s: %d %s, want 404", s, code, body)
		}
	}
	if mods, _ := rm.Modules(context.Background()); len(mods) != 0 {
		t.Errorf("the list shows %+v after the deletions", mods)
	}

	ag := rm.agent(t, "cpus:4;mem:1024")
	fw := rm.subscribe(t, api.FrameworkInfo{User: "u", Name: "f"})
	never := strings.Repeat("ab", 32)
	refusal := func(id, module string) string {
		t.Helper()
		o := fw.offer()
		fw.mustCall(launch(o, wasmTask(id, module, o)))
		st := fw.update(id)
		if st.State != api.TaskError {
			t.Fatalf("launch of %s: %s %q, want TASK_ERROR", id, st.State, st.Message)
		}
		return strings.ReplaceAll(st.Message, module, "<sha256>")
	}
	deleted, unknown := refusal("deleted", sha), refusal("never-uploaded", never)
	if deleted != unknown || !strings.Contains(deleted, "is not in the module store") {
		t.Errorf("launch of a deleted module refused with %q, of a module never uploaded with %q: want the same refusal", deleted, unknown)
	}

	if again := rm.upload(t, wasmEmpty); again != sha {
		t.Fatalf("upload again: %s, want %s", again, sha)
	}
	if _, err := os.Stat(rm.storeFile(sha)); err != nil {
		t.Errorf("module file after uploading it again: %v", err)
	}
	if listed, err := rm.reg.HasModule(sha); err != nil || !listed {
		t.Errorf("the registry does not list the module uploaded again (%v)", err)
	}
	if deleted, err := rm.reg.ModuleDeleted(sha); err != nil || deleted {
		t.Errorf("the module uploaded again still counts as deleted (%v)", err)
	}
	o := fw.offer()
	fw.mustCall(launch(o, wasmTask("again", sha, o)))
	ev := ag.next(func(ev api.AgentEvent) bool { return ev.Type == api.AgentEventLaunch })
	if tasks := ev.Launch.Tasks; len(tasks) != 1 || tasks[0].Container.Wasm.SHA256 != sha {
		t.Errorf("the agent was told to launch %+v, want module %s", tasks, sha)
	}
}

// TestModuleDeleteNeedsTheLeader sends DELETE to a master whose peers
// never start, so that no leader is elected: like an upload, it is
// answered as leader-only routes are, and nothing is deleted.
func TestModuleDeleteNeedsTheLeader(t *testing.T) {
	tm := leaderlessMaster(t)
	mod, err := tm.modules.Put(context.Background(), wasmEmpty)
	if err != nil {
		t.Fatal(err)
	}
	for _, method := range []string{http.MethodPost, http.MethodDelete} {
		path := "/api/v1/modules"
		if method == http.MethodDelete {
			path += "/" + mod.SHA256
		}
		if code, _, body := tm.request(t, method, path, wasmEmpty); code != http.StatusServiceUnavailable || body != "No leader elected\n" {
			t.Errorf("%s %s without a leader: %d %q, want 503 No leader elected", method, path, code, body)
		}
	}
	if err := tm.DeleteModule(context.Background(), mod.SHA256); !isCallError(err, http.StatusServiceUnavailable) {
		t.Errorf("the console's DeleteModule on a master that does not lead: %v, want 503", err)
	}
	if _, err := os.Stat(tm.storeFile(mod.SHA256)); err != nil {
		t.Errorf("the module's file after refused deletions: %v", err)
	}
}

// TestModuleDeleteACLs checks delete_modules over HTTP and through the
// console's seam: a principal allowed only to upload may not delete, one
// allowed to delete may, and a refusal deletes nothing.
func TestModuleDeleteACLs(t *testing.T) {
	tm := secureMaster(t, `{
  "upload_modules": [{"principals": {"values": ["ci"]}}],
  "delete_modules": [{"principals": {"values": ["ops"]}}]
}`)
	as := func(p string) { tm.header = []string{"Authorization", basic(p, p+"-pw")} }
	as("ci")
	sha := tm.upload(t, wasmEmpty)
	for _, p := range []string{"web", "ci"} {
		as(p)
		code, _, body := tm.request(t, http.MethodDelete, "/api/v1/modules/"+sha, nil)
		if code != http.StatusForbidden || !strings.Contains(body, `principal "`+p+`" may not delete_modules`) {
			t.Errorf("%s deleting: %d %q, want 403 naming delete_modules", p, code, body)
		}
		if err := tm.DeleteModule(auth.WithPrincipal(context.Background(), p), sha); !isCallError(err, http.StatusForbidden) || !strings.Contains(err.Error(), "delete_modules") {
			t.Errorf("%s deleting through the console: %v, want 403 naming delete_modules", p, err)
		}
	}
	if _, err := os.Stat(tm.storeFile(sha)); err != nil {
		t.Fatalf("the module's file after refused deletions: %v", err)
	}
	as("ops")
	if code, _, body := tm.request(t, http.MethodDelete, "/api/v1/modules/"+sha, nil); code != http.StatusNoContent {
		t.Fatalf("ops deleting: %d %q, want 204", code, body)
	}
	if err := tm.DeleteModule(auth.WithPrincipal(context.Background(), "ops"), sha); !isCallError(err, http.StatusNotFound) {
		t.Errorf("ops deleting it again through the console: %v, want 404", err)
	}
}

// TestDeletionReachesTheStore applies deletions the way a standby does,
// from the registry rather than through this master's API: a deletion
// committed while the master runs removes the file when it is applied,
// and a file left behind by a master that died between applying a
// deletion and removing the file is removed when it starts again.
func TestDeletionReachesTheStore(t *testing.T) {
	dir := t.TempDir()
	rm := startReplicatedMaster(t, dir, "127.0.0.1:0")
	raftAddr := rm.reg.Addr()
	sha := rm.upload(t, wasmEmpty)
	if err := rm.reg.Apply(context.Background(), registry.DeleteModule(registry.DeletedModule{SHA256: sha})); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the applied deletion to remove the file", func() bool {
		_, err := os.Stat(rm.storeFile(sha))
		return errors.Is(err, os.ErrNotExist)
	})
	rm.stop()

	// As if the master had died before removing the file.
	if err := os.WriteFile(filepath.Join(dir, "modules", sha+".wasm"), wasmEmpty, 0o644); err != nil {
		t.Fatal(err)
	}
	again := startReplicatedMaster(t, dir, raftAddr)
	waitUntil(t, "the restarted master to remove the deleted module's file", func() bool {
		_, held := again.modules.Get(sha)
		_, err := os.Stat(again.storeFile(sha))
		return !held && errors.Is(err, os.ErrNotExist)
	})
	if code, _, body := again.request(t, http.MethodGet, "/api/v1/modules/"+sha, nil); code != http.StatusNotFound {
		t.Errorf("GET of the deleted module after the restart: %d %s, want 404", code, body)
	}
}

// TestUploadAndDeleteRace uploads and deletes one module concurrently, many
// times: every upload succeeds (a deletion committed after it supersedes
// it), every deletion succeeds or finds the module gone, and once they are
// over the store agrees with the registry, whichever came last (listed:
// the file is there; deleted: it is not).
func TestUploadAndDeleteRace(t *testing.T) {
	rm := startReplicatedMaster(t, t.TempDir(), "127.0.0.1:0")
	sha := rm.upload(t, wasmEmpty)
	for range 20 {
		var wg sync.WaitGroup
		wg.Go(func() {
			if code, _, body := rm.request(t, http.MethodPost, "/api/v1/modules", wasmEmpty); code != http.StatusOK {
				t.Errorf("upload: %d %s", code, body)
			}
		})
		wg.Go(func() {
			if code, _, body := rm.request(t, http.MethodDelete, "/api/v1/modules/"+sha, nil); code != http.StatusNoContent && code != http.StatusNotFound {
				t.Errorf("delete: %d %s", code, body)
			}
		})
		wg.Wait()
	}
	listed, err := rm.reg.HasModule(sha)
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the store to agree with the registry", func() bool {
		_, held := rm.modules.Get(sha)
		_, err := os.Stat(rm.storeFile(sha))
		return held == listed && (err == nil) == listed
	})
}
