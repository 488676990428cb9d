package master

import (
	"context"
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
