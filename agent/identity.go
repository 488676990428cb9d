package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/renameio/v2"
)

// identity is what the agent keeps in <work_dir>/agent.json, apart from
// agent.db, because it must outlive a crash of the host, which agent.db
// need not: agent.db is committed without fsync, as Mesos writes its
// checkpoints (RATIONALE.md, "Why is agent.db not synced?"), so a power
// cut or a kernel panic may leave it torn, and bbolt cannot always be
// trusted to refuse a torn file rather than crash the process opening
// it. agent.json is small, written rarely and always synced.
type identity struct {
	// AgentID is the ID the master gave the agent, so that it
	// re-registers under it after a reboot and the master learns at once
	// that its old tasks are gone, rather than after the agent's
	// unreachable timeout.
	AgentID string `json:"agent_id,omitempty"`
	// BootID is the host's boot during which agent.db was last written:
	// a different boot now means the host went down since, with agent.db
	// perhaps half on disk and every executor dead.
	BootID string `json:"boot_id,omitempty"`
}

// identityFile and rebootedStoreFile are agent.json and where agent.db is
// set aside after a reboot, in the work directory.
const (
	identityFile      = "agent.json"
	rebootedStoreFile = "agent.db.before-reboot"
)

// bootIDFile holds Linux's ID of the running boot.
const bootIDFile = "/proc/sys/kernel/random/boot_id"

// hostBootID returns the ID of the host's current boot, or "" where the
// system does not say; agent.db is then synced at every commit, since a
// reboot cannot be told apart from an agent restart.
func hostBootID() string {
	b, err := os.ReadFile(bootIDFile)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// readIdentity reads the agent.json in dir; found is false when there is
// none (a new work directory, or one from a build that synced agent.db
// and kept the agent ID there).
func readIdentity(dir string) (id identity, found bool, err error) {
	path := filepath.Join(dir, identityFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return identity{}, false, nil
	}
	if err != nil {
		return identity{}, false, fmt.Errorf("read %s: %w", path, err)
	}
	if err := json.Unmarshal(b, &id); err != nil {
		return identity{}, false, fmt.Errorf("read %s: %w (it is written whole or not at all, so something else changed it; remove it and agent.db to start as a new agent)", path, err)
	}
	return id, true, nil
}

// writeIdentity replaces the agent.json in dir with id, on disk before it
// returns: the file first, through a synced temporary file and a rename,
// then the directory, so that the rename outlives a crash too (a missing
// agent.json would make agent.db look trustworthy; see openCheckpoint).
func writeIdentity(dir string, id identity) error {
	b, err := json.Marshal(id)
	if err != nil {
		return err
	}
	path := filepath.Join(dir, identityFile)
	if err := renameio.WriteFile(path, b, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
