package agent

import (
	"bytes"
	"crypto/rand"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mezzo-cluster/mezzo/api"
)

// TestRebootStartsAfresh plays a host that crashed and rebooted: the
// agent.db its agent was writing, unsynced, is torn (here: garbage), and
// a process with its executor's PID runs. The agent must start, under
// its old ID (so that the master declares its old tasks lost at once),
// with no executor recovered and nothing of the old agent.db read, which
// it keeps aside for a person to look at. Restarted again in the same
// boot, it recovers from the agent.db it wrote meanwhile, as after any
// restart.
func TestRebootStartsAfresh(t *testing.T) {
	dir := searchableTempDir(t)
	rec := liveExecutorRecord(t, dir) // after the reboot, a process that got the executor's PID
	runDir := rec.Dir
	task := api.TaskInfo{Name: "t", TaskID: api.TaskID{Value: "t"}, Command: &api.CommandInfo{Value: "sleep 600"}}

	first := newBareAgent(t, func(c *Config) { c.WorkDir = dir; c.bootID = "boot-1" })
	if !first.store.db.NoSync {
		t.Error("agent.db is synced at every commit though the host's boot is known")
	}
	first.subscribed("http://127.0.0.1:1", "stream", &api.AgentSubscribed{AgentID: api.AgentID{Value: "agent-7"}})
	changes := []taskChange{{index: 0, rec: &recordedTask{Info: task, Dir: runDir, State: api.TaskRunning, Sent: true}}}
	if err := first.store.checkpoint("fw", "e", &rec, changes, false).wait(); err != nil {
		t.Fatal(err)
	}
	first.store.close()

	// The same boot: the agent recovers its executor.
	second := newBareAgent(t, func(c *Config) { c.WorkDir = dir; c.bootID = "boot-1" })
	if second.agentID != "agent-7" {
		t.Errorf("agent ID %q after a restart, want agent-7", second.agentID)
	}
	if n := len(second.subscribeCall().Subscribe.Tasks); n != 1 {
		t.Fatalf("%d tasks recovered after a restart, want 1", n)
	}
	second.mu.Lock()
	second.executors = map[execKey]*executorRun{} // leave the stand-in process alone at cleanup
	second.mu.Unlock()
	second.store.close()

	// Another boot, over a torn agent.db.
	torn := make([]byte, 64<<10)
	rand.Read(torn)
	if err := os.WriteFile(filepath.Join(dir, "agent.db"), torn, 0o600); err != nil {
		t.Fatal(err)
	}
	third := newBareAgent(t, func(c *Config) { c.WorkDir = dir; c.bootID = "boot-2" })
	if third.agentID != "agent-7" {
		t.Errorf("agent ID %q after a reboot, want agent-7", third.agentID)
	}
	if sub := third.subscribeCall().Subscribe; len(sub.Tasks) != 0 || len(sub.Frameworks) != 0 {
		t.Errorf("after a reboot the agent reports tasks %+v and frameworks %+v, want none", sub.Tasks, sub.Frameworks)
	}
	if kept, err := os.ReadFile(filepath.Join(dir, rebootedStoreFile)); err != nil || !bytes.Equal(kept, torn) {
		t.Errorf("the old agent.db was not kept aside as it was (err %v)", err)
	}
	if id, _, err := readIdentity(dir); err != nil || id != (identity{AgentID: "agent-7", BootID: "boot-2"}) {
		t.Errorf("agent.json holds %+v (err %v), want agent-7 and boot-2", id, err)
	}
}

// TestCheckpointFromAnOlderBuild opens a work directory written by a
// build that kept the agent ID in agent.db and had no agent.json: that
// agent.db was synced at every commit, so it is trusted, and the ID moves
// to agent.json.
func TestCheckpointFromAnOlderBuild(t *testing.T) {
	dir := t.TempDir()
	db, err := bolt.Open(filepath.Join(dir, "agent.db"), 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(metaBucket)
		if err != nil {
			return err
		}
		return b.Put(agentIDKey, []byte("agent-3"))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	st, id, err := openCheckpoint(dir, "boot-1", slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer st.close()
	if id.AgentID != "agent-3" {
		t.Errorf("agent ID %q, want agent-3 from agent.db", id.AgentID)
	}
	if onDisk, found, err := readIdentity(dir); err != nil || !found || onDisk != (identity{AgentID: "agent-3", BootID: "boot-1"}) {
		t.Errorf("agent.json holds %+v (found %v, err %v)", onDisk, found, err)
	}
	if _, err := os.Stat(filepath.Join(dir, rebootedStoreFile)); err == nil {
		t.Error("agent.db was set aside")
	}
}

// TestCheckpointUnknownBoot: where the host's boot is unknown (now, or
// ever), agent.db is synced, and trusted, not set aside; a damaged
// agent.json stops the agent with an error that names it, and leaves
// agent.db alone.
func TestCheckpointUnknownBoot(t *testing.T) {
	dir := t.TempDir()
	for _, boot := range []string{"", "boot-1", ""} {
		st, _, err := openCheckpoint(dir, boot, slog.Default())
		if err != nil {
			t.Fatal(err)
		}
		if st.db.NoSync != (boot != "") {
			t.Errorf("boot %q: agent.db synced %v", boot, !st.db.NoSync)
		}
		st.close()
		if _, err := os.Stat(filepath.Join(dir, rebootedStoreFile)); err == nil {
			t.Fatalf("boot %q: agent.db was set aside", boot)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, identityFile), []byte(`{"agent_id":`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := openCheckpoint(dir, "boot-1", slog.Default()); err == nil || !strings.Contains(err.Error(), identityFile) {
		t.Errorf("a damaged agent.json gave %v, want an error naming it", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "agent.db")); err != nil {
		t.Errorf("agent.db: %v", err)
	}
}
