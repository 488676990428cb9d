package master

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/mezzo-cluster/mezzo/master/registry"
)

// persistNow queues cmd and waits until raft has committed it, for the
// calls that answer only once their change is durable (a module upload).
// It must be called without m.mu.
func (m *Master) persistNow(ctx context.Context, cmd registry.Command) error {
	if m.reg == nil {
		return nil
	}
	done := make(chan struct{})
	m.mu.Lock()
	m.persist(cmd, func() { close(done) })
	m.mu.Unlock()
	return m.awaitCommit(ctx, done)
}

// awaitCommit waits for done, closed by a write's follow-up once raft has
// committed it. A write lost with the leadership never closes it.
func (m *Master) awaitCommit(ctx context.Context, done <-chan struct{}) error {
	timer := time.NewTimer(15 * time.Second)
	defer timer.Stop()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return errors.New("the registry did not commit the change in time (leadership lost?)")
	}
}

// copyModules keeps a standby's module store complete: every module the
// registry lists and this master lacks is fetched from the leader and
// stored only if its bytes hash to the name the registry gives. It runs
// until ctx ends.
func (m *Master) copyModules(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if m.leading.Load() {
			continue
		}
		s, err := m.reg.Load()
		if err != nil {
			m.log.Warn("read module list from the registry", "err", err)
			continue
		}
		for sha := range s.Modules {
			if _, ok := m.modules.Get(sha); ok {
				continue
			}
			if err := m.copyModule(ctx, sha); err != nil {
				m.log.Warn("copy a module from the leader", "module", sha, "err", err)
			}
		}
	}
}

// copyModule fetches one module from the leader and checks its hash.
func (m *Master) copyModule(ctx context.Context, sha string) error {
	leader := m.reg.Leader()
	if leader == "" || leader == m.reg.Addr() {
		return errors.New("no leader to copy from")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.cfg.scheme()+"://"+leader+"/api/v1/modules/"+sha, nil)
	if err != nil {
		return err
	}
	resp, err := m.http.Do(req)
	if err != nil {
		return fmt.Errorf("fetch module %s: %w", sha, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("fetch module %s: leader answered %s", sha, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, m.cfg.MaxModuleBytes+1))
	if err != nil {
		return fmt.Errorf("fetch module %s: %w", sha, err)
	}
	if modSHA := sha256Hex(body); modSHA != sha {
		return fmt.Errorf("fetch module %s: the leader sent bytes hashing to %s", sha, modSHA)
	}
	if _, err := m.modules.Put(ctx, body); err != nil {
		return fmt.Errorf("store module %s: %w", sha, err)
	}
	m.log.Info("copied a module from the leader", "module", sha, "bytes", len(body))
	return nil
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
