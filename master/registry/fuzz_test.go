package registry

import (
	"path/filepath"
	"testing"

	"github.com/hashicorp/raft"
)

// FuzzApply feeds arbitrary log entries to the FSM: decoding must fail
// cleanly or apply, never panic, and the file must stay consistent.
func FuzzApply(f *testing.F) {
	for _, c := range []Command{PutWeight("web", 2), LaunchTasks("L", sampleTask("f", "t")), DeleteTask("f", "t")} {
		b, _ := c.Encode()
		f.Add(b)
	}
	f.Add([]byte(`{"changes":[{"op":"drop","bucket":"tasks","key":"k"}]}`))
	dir := f.TempDir()
	fsm, err := OpenFSM(filepath.Join(dir, "registry.db"))
	if err != nil {
		f.Fatal(err)
	}
	defer fsm.Close()
	var index uint64
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := DecodeCommand(data); err == nil {
			c, _ := DecodeCommand(data)
			if err := c.Validate(); err != nil {
				t.Fatalf("decoded command does not validate: %v", err)
			}
		}
		index++
		fsm.Apply(&raft.Log{Index: index, Type: raft.LogCommand, Data: data})
		if fsm.Applied() != index {
			t.Fatalf("applied = %d, want %d", fsm.Applied(), index)
		}
	})
}
