package master

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/master/modules"
	"github.com/mezzo-cluster/mezzo/master/registry"
)

// TestLaunchOfModuleNoMasterHolds launches Wasm tasks whose modules this
// master's store lacks, on a master with a real registry and no other
// master: a module the registry records but whose bytes never reached any
// master fails its task with an error that says so and what to do, and a
// module the registry does not know fails as plainly missing.
func TestLaunchOfModuleNoMasterHolds(t *testing.T) {
	rm := startReplicatedMaster(t, t.TempDir(), "127.0.0.1:0")
	recorded := strings.Repeat("cd", 32)
	meta := modules.Module{SHA256: recorded, Size: 42}
	if err := rm.reg.Apply(context.Background(), registry.PutModule(recorded, meta)); err != nil {
		t.Fatal(err)
	}
	rm.agent(t, "cpus:4;mem:1024")
	fw := rm.subscribe(t, api.FrameworkInfo{User: "u", Name: "f"})
	tests := []struct {
		name     string
		id       string
		sha      string
		want     string
		dontWant string
	}{
		{name: "recorded, bytes nowhere", id: "recorded", sha: recorded,
			want: "the registry records it but no master could supply its bytes"},
		{name: "unknown", id: "unknown", sha: strings.Repeat("ef", 32),
			want: "is not in the module store", dontWant: "registry records it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := fw.offer()
			task := commandTask(tt.id, o, 1, 1)
			task.Command = nil
			task.Container = &api.ContainerInfo{Type: api.ContainerWasm, Wasm: &api.WasmInfo{SHA256: tt.sha}}
			fw.mustCall(launch(o, task))
			st := fw.update(task.TaskID.Value)
			if st.State != api.TaskError || !strings.Contains(st.Message, tt.want) ||
				(tt.dontWant != "" && strings.Contains(st.Message, tt.dontWant)) {
				t.Fatalf("launch: %s %q, want TASK_ERROR saying %q", st.State, st.Message, tt.want)
			}
		})
	}
}

// TestModuleUploadsReachTheRegistry uploads a module both ways a master
// takes one, the HTTP API and the console's PutModule, on a master with a
// real registry: each is recorded in the registry before it is answered,
// so that the other masters copy it and a new leader knows it.
func TestModuleUploadsReachTheRegistry(t *testing.T) {
	rm := startReplicatedMaster(t, t.TempDir(), "127.0.0.1:0")
	// Two different valid modules: the magic number and version, then
	// nothing or a type section with one function type.
	wasm := [][]byte{{0, 'a', 's', 'm', 1, 0, 0, 0}, {0, 'a', 's', 'm', 1, 0, 0, 0, 1, 4, 1, 0x60, 0, 0}}
	tests := []struct {
		name   string
		upload func(t *testing.T, wasm []byte) string
	}{
		{"HTTP API", func(t *testing.T, b []byte) string {
			resp, err := http.Post(rm.url+"/api/v1/modules", "application/wasm", bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var mod api.ModuleInfo
			if err := json.NewDecoder(resp.Body).Decode(&mod); err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("upload: %s %v", resp.Status, err)
			}
			return mod.SHA256
		}},
		{"console", func(t *testing.T, b []byte) string {
			mod, err := rm.PutModule(context.Background(), b)
			if err != nil {
				t.Fatal(err)
			}
			return mod.SHA256
		}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sha := tt.upload(t, wasm[i])
			if ok, err := rm.reg.HasModule(sha); err != nil || !ok {
				t.Errorf("the registry does not record module %s uploaded through the %s (%v)", sha, tt.name, err)
			}
		})
	}
}
