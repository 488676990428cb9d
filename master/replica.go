package master

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/master/modules"
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

// recordModule makes a stored module durable across a failover: its
// metadata committed to the registry, its bytes (wasm) on a majority of
// the masters. It returns an error saying which failed; the upload may be
// retried (modules are stored by hash). It must be called without m.mu.
func (m *Master) recordModule(ctx context.Context, mod modules.Module, wasm []byte) error {
	if m.reg == nil {
		return nil
	}
	if !m.leading.Load() {
		return errors.New("this master is not the leader; upload the module through the leader")
	}
	if err := m.persistNow(ctx, registry.PutModule(mod.SHA256, mod)); err != nil {
		return fmt.Errorf("record the module in the registry: %w", err)
	}
	// A deletion of the same module, applied while this upload was under
	// way, may have removed the file before the record above listed the
	// module again. One committed after the record supersedes the upload,
	// which succeeded first.
	err := m.storeListed(ctx, mod.SHA256, wasm)
	if errors.Is(err, errNotListed) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("keep the module in the store: %w", err)
	}
	// 200 promises that the module survives the leader's death, so a
	// majority of the masters must hold the bytes, as they hold the record.
	if err := m.awaitModuleCopies(ctx, mod.SHA256); err != nil {
		return fmt.Errorf("module recorded but not yet copied to a majority of the masters (upload it again): %w", err)
	}
	return nil
}

// Module blobs are not in the raft log (a log entry is bounded, and
// modules may be megabytes): the registry holds their metadata, and the
// masters copy the bytes among themselves. Why: RATIONALE.md, "Why do
// module blobs travel beside raft rather than through it?".
//
// blobFetches remembers, per module, why the last attempt to fetch it from
// the other masters failed, so that a launch refused under m.mu (where no
// I/O may happen) can say why.
type blobFetches struct {
	mu     sync.Mutex
	failed map[string]error // sha256 -> why no master supplied it
}

func (b *blobFetches) set(sha string, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.failed == nil {
		b.failed = map[string]error{}
	}
	if err == nil {
		delete(b.failed, sha)
		return
	}
	b.failed[sha] = err
}

func (b *blobFetches) get(sha string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.failed[sha]
}

// missingModule is the error of a launch whose module is not in this
// master's store: it says whether the registry knows the module and, if
// so, why no master could supply its bytes. It does no I/O, so it may be
// called with m.mu held.
func (m *Master) missingModule(sha string) error {
	if err := m.blobs.get(sha); err != nil {
		return fmt.Errorf("Wasm module %s is not in the module store: the registry records it but no master could supply its bytes (%v); upload it again", sha, err)
	}
	return fmt.Errorf("Wasm module %s is not in the module store", sha)
}

// syncModules keeps this master's module store in step with the
// registry: the file of every module the registry records as deleted is
// removed (moduledelete.go), and every module the registry lists and this
// master lacks is fetched from another master, the leader first, and
// stored only if its bytes hash to the name the registry gives. It runs
// at start (for a deletion applied just before a crash), when module
// metadata or a deletion reaches the replica (a log entry or a snapshot),
// and every few seconds (for a copy that failed), until ctx ends.
func (m *Master) syncModules(ctx context.Context) {
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		m.removeDeletedModules()
		m.copyMissingModules(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-m.reg.ModulesChanged():
		}
	}
}

func (m *Master) copyMissingModules(ctx context.Context) {
	names, err := m.reg.ModuleNames()
	if err != nil {
		m.log.Warn("read module list from the registry", "err", err)
		return
	}
	for _, sha := range names {
		if _, ok := m.modules.Get(sha); ok {
			continue
		}
		if err := m.fetchModule(ctx, sha); err != nil {
			m.log.Warn("copy a module from another master", "module", sha, "err", err)
		}
	}
}

// ensureModules fetches, before an ACCEPT is carried out, the modules of
// its Wasm tasks that the registry records but this master's store lacks
// (a leader that took over before copying them), so that the launch does
// not fail for a blob another master holds. A fetch that fails leaves the
// launch to fail with missingModule's explanation. It must be called
// without m.mu.
func (m *Master) ensureModules(ctx context.Context, call *api.Call) {
	if m.reg == nil || call.Type != api.CallAccept || call.Accept == nil {
		return
	}
	for _, op := range call.Accept.Operations {
		tasks := op.Tasks()
		for i := range tasks {
			if tasks[i].IsWasm() {
				m.ensureModule(ctx, tasks[i].Container.Wasm.SHA256)
			}
		}
	}
}

// ensureModule fetches module sha from another master if the registry
// records it and this master lacks it, and reports whether the store holds
// it now.
func (m *Master) ensureModule(ctx context.Context, sha string) bool {
	if _, ok := m.modules.Get(sha); ok {
		return true
	}
	if m.reg == nil {
		return false
	}
	known, err := m.reg.HasModule(sha)
	if err != nil || !known {
		return false
	}
	if err := m.fetchModule(ctx, sha); err != nil {
		m.log.Warn("fetch a module from another master", "module", sha, "err", err)
		return false
	}
	return true
}

// fetchModule copies module sha from the first other master that holds
// it, the leader first. Concurrent fetches of one module are harmless: the
// store writes each atomically under its hash.
func (m *Master) fetchModule(ctx context.Context, sha string) error {
	var errs []error
	for _, peer := range m.modulePeers() {
		err := m.fetchModuleFrom(ctx, peer, sha)
		if err == nil {
			m.blobs.set(sha, nil)
			return nil
		}
		if errors.Is(err, errNotListed) {
			return err // deleted meanwhile: nothing to explain to a launch
		}
		errs = append(errs, err)
	}
	err := errors.Join(errs...)
	if err == nil {
		err = errors.New("no other master is known")
	}
	err = fmt.Errorf("fetch module %s: %w", sha, err)
	m.blobs.set(sha, err)
	return err
}

// modulePeers lists the other masters, the leader first.
func (m *Master) modulePeers() []string {
	self, leader := m.reg.Addr(), m.reg.Leader()
	var out []string
	if leader != "" && leader != self {
		out = append(out, leader)
	}
	servers, err := m.reg.Servers()
	if err != nil {
		m.log.Warn("list the masters", "err", err)
	}
	for _, s := range servers {
		if addr := string(s.Address); addr != self && addr != leader {
			out = append(out, addr)
		}
	}
	return out
}

// peerClient is an HTTP client for calls to other masters: with this
// master's credential, and without following redirects, since a master
// that lacks a module redirects to the leader, which may be this one.
func (m *Master) peerClient() *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: m.http.Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// peerURL is the URL of path on another master, over https when this
// master serves TLS (masters share one set of TLS flags).
func (m *Master) peerURL(addr, path string) string { return m.cfg.scheme() + "://" + addr + path }

// fetchModuleFrom copies module sha from the master at peer, checking
// that the bytes hash to sha.
func (m *Master) fetchModuleFrom(ctx context.Context, peer, sha string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.peerURL(peer, "/api/v1/modules/"+sha), nil)
	if err != nil {
		return fmt.Errorf("%s: %w", peer, err)
	}
	resp, err := m.peerClient().Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", peer, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s", peer, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, m.cfg.MaxModuleBytes+1))
	if err != nil {
		return fmt.Errorf("%s: read: %w", peer, err)
	}
	if got := sha256Hex(body); got != sha {
		return fmt.Errorf("%s sent bytes hashing to %s", peer, got)
	}
	if err := m.storeListed(ctx, sha, body); err != nil {
		return fmt.Errorf("store the copy from %s: %w", peer, err)
	}
	m.log.Info("copied a module from another master", "module", sha, "from", peer, "bytes", len(body))
	return nil
}

// awaitModuleCopies waits until a majority of the masters, this one
// included, hold module sha, so that an upload answered 200 survives the
// leader's death as its metadata does, or until a deletion of the module
// has been committed since. The other masters copy the blob
// when its metadata reaches them; this only asks them whether they have.
func (m *Master) awaitModuleCopies(ctx context.Context, sha string) error {
	if m.reg == nil {
		return nil
	}
	servers, err := m.reg.Servers()
	if err != nil {
		return err
	}
	need := len(servers)/2 + 1
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	held := make(chan string)
	for _, s := range servers {
		if addr := string(s.Address); addr != m.reg.Addr() {
			go m.pollModule(ctx, addr, sha, held)
		}
	}
	// A deletion committed meanwhile supersedes the upload: the masters
	// will not copy the module any more.
	recheck := time.NewTicker(100 * time.Millisecond)
	defer recheck.Stop()
	have := 1
	for have < need {
		select {
		case <-held:
			have++
		case <-recheck.C:
			if deleted, err := m.reg.ModuleDeleted(sha); err == nil && deleted {
				return nil
			}
		case <-ctx.Done():
			return fmt.Errorf("module %s is held by %d of %d masters, %d needed: %w", sha, have, len(servers), need, ctx.Err())
		}
	}
	return nil
}

// pollModule asks the master at peer for module sha until it holds it,
// then sends peer on held; it gives up when ctx ends.
func (m *Master) pollModule(ctx context.Context, peer, sha string, held chan<- string) {
	client := m.peerClient()
	wait := 5 * time.Millisecond
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodHead, m.peerURL(peer, "/api/v1/modules/"+sha), nil)
		if err != nil {
			return
		}
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				select {
				case held <- peer:
				case <-ctx.Done():
				}
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, 200*time.Millisecond)
	}
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
