package master

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/mezzo-cluster/mezzo/api/acl"
	"github.com/mezzo-cluster/mezzo/master/modules"
	"github.com/mezzo-cluster/mezzo/master/registry"
)

// Deleting a module: the leader commits registry.DeleteModule, which
// drops the module's metadata and leaves a tombstone, and every master
// removes the file of a module with a tombstone that the registry does
// not list again, when the deletion reaches it (a log entry, a snapshot,
// or its next start: syncModules). Why a tombstone: RATIONALE.md, "Why
// does deleting a module leave a tombstone in the registry?".
//
// A removal and a store of the same module may race: an upload of a
// module being deleted, or a copy from another master fetched just before
// the deletion reached this one. fileMu orders them: removeModule checks
// the tombstone and removes under it, storeListed checks the list and
// stores under it, so whichever the registry decided last wins in the
// store too.

// errNotListed is storeListed's error for a module the registry does not
// list (any more).
var errNotListed = errors.New("the registry does not list the module (deleted?)")

// deleteModule deletes module sha from the cluster for the principal in
// ctx, as DELETE /api/v1/modules/{sha256} and the console's DeleteModule
// do. It answers once the deletion is committed and this master's file
// removed. Running tasks and agents' caches are left alone: only new
// launches are refused. Errors are echo errors with the status to answer.
// It must be called without m.mu.
func (m *Master) deleteModule(ctx context.Context, sha string) error {
	if err := m.authorize(ctx, acl.DeleteModules, "", false); err != nil {
		return err
	}
	if !modules.ValidHash(sha) {
		return echo.NewHTTPError(http.StatusBadRequest, "Module names are lowercase hex sha256 digests")
	}
	if !m.leading.Load() {
		msg := "This master is not the leader; delete the module through the leader"
		if m.reg != nil {
			msg = m.notLeader().Message // names the leader, for the console
		}
		return echo.NewHTTPError(http.StatusServiceUnavailable, msg)
	}
	known, err := m.moduleKnown(sha)
	if err != nil {
		return err
	}
	if !known {
		return echo.NewHTTPError(http.StatusNotFound, fmt.Sprintf("Module %s not found", sha))
	}
	tomb := registry.DeletedModule{SHA256: sha, Deleted: time.Now().UTC()}
	if err := m.persistNow(ctx, registry.DeleteModule(tomb)); err != nil {
		return echo.NewHTTPError(http.StatusServiceUnavailable, "Module deletion not recorded: "+err.Error())
	}
	if err := m.removeModule(sha); err != nil {
		// Committed: the other masters remove it, and so does this one's
		// next pass of syncModules.
		return fmt.Errorf("delete module %s: %w", sha, err)
	}
	m.log.Info("module deleted", "module", sha, "principal", principalOf(ctx))
	return nil
}

// moduleKnown reports whether this master's store holds module sha or the
// registry lists it (a leader may not have copied it yet).
func (m *Master) moduleKnown(sha string) (bool, error) {
	if _, ok := m.modules.Get(sha); ok || m.reg == nil {
		return ok, nil
	}
	listed, err := m.reg.HasModule(sha)
	if err != nil {
		return false, fmt.Errorf("delete module %s: %w", sha, err)
	}
	return listed, nil
}

// removeModule removes module sha's file from this master's store if the
// registry records the module as deleted (without a registry, always),
// and forgets why fetching it failed, so that a launch of it is refused
// as a module never uploaded is.
func (m *Master) removeModule(sha string) error {
	m.fileMu.Lock()
	defer m.fileMu.Unlock()
	if m.reg != nil {
		deleted, err := m.reg.ModuleDeleted(sha)
		if err != nil || !deleted {
			return err
		}
	}
	m.blobs.set(sha, nil)
	if _, ok := m.modules.Get(sha); !ok {
		return nil
	}
	if err := m.modules.Remove(sha); err != nil {
		return err
	}
	m.log.Info("removed a deleted module from the store", "module", sha)
	return nil
}

// removeDeletedModules removes from this master's store every module the
// registry records as deleted.
func (m *Master) removeDeletedModules() {
	names, err := m.reg.DeletedModules()
	if err != nil {
		m.log.Warn("read deleted modules from the registry", "err", err)
		return
	}
	for _, sha := range names {
		if _, ok := m.modules.Get(sha); !ok {
			m.blobs.set(sha, nil) // nothing to remove (storeListed will not store it)
			continue
		}
		if err := m.removeModule(sha); err != nil {
			m.log.Warn("remove a deleted module", "module", sha, "err", err)
		}
	}
}

// storeListed stores module sha's bytes (an upload's, or a copy from
// another master) if the registry lists the module, and returns
// errNotListed otherwise, so that a deletion applied meanwhile is not
// undone. A store that already holds the module is left as it is. It
// needs the registry (m.reg).
func (m *Master) storeListed(ctx context.Context, sha string, wasm []byte) error {
	m.fileMu.Lock()
	defer m.fileMu.Unlock()
	if _, ok := m.modules.Get(sha); ok {
		return nil
	}
	listed, err := m.reg.HasModule(sha)
	if err != nil {
		return err
	}
	if !listed {
		return fmt.Errorf("module %s: %w", sha, errNotListed)
	}
	_, err = m.modules.Put(ctx, wasm)
	return err
}
