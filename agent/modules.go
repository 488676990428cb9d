package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"

	"github.com/mezzo-cluster/mezzo/api/module"
)

// maxModuleBytes bounds a module fetched from the master.
const maxModuleBytes = 64 << 20

// moduleCache fetches modules from the master by hash and keeps them on
// disk as <dir>/<sha256>.wasm, where executors read them (executors
// compile them: the agent never runs Wasm itself). It is safe for
// concurrent use; a module is fetched (or a file found on disk checked)
// once however many tasks ask for it at the same time, and the fetch is
// cancelled once none of them waits for it any more.
type moduleCache struct {
	dir    string
	client *http.Client

	mu       sync.Mutex
	inflight map[string]*fetch
	// checked holds the modules whose file this cache wrote or found to
	// hash to their name, by hash.
	checked map[string]bool
	// costs holds what compiling each module may cost (compileCost), by
	// hash, once found.
	costs map[string]uint64
}

// fetch is a module's fetch shared by the gets waiting for it.
type fetch struct {
	done chan struct{} // closed once err is set
	err  error
	// waiters counts the gets waiting for done; the last to give up
	// cancels the fetch (cancel). moduleCache.mu must be held.
	waiters int
	cancel  context.CancelFunc
}

func newModuleCache(dir string, client *http.Client) *moduleCache {
	return &moduleCache{dir: dir, client: client, inflight: map[string]*fetch{}, checked: map[string]bool{}, costs: map[string]uint64{}}
}

// get makes sure the module with hash sha is on disk, fetching it from
// master if it is not. It returns ctx's error once ctx is done, without
// waiting for a fetch that other gets share; the fetch itself ends when
// no get waits for it any more. A file found there that this cache did not write
// (an agent before this one did) is hashed the first time it is asked
// for, and fetched again unless it matches: a crash of the machine may
// have left it truncated, and every task of the module would then fail
// its executor's hash check. Later gets trust it, and cost a stat.
func (c *moduleCache) get(ctx context.Context, master, sha string) error {
	if !isModuleHash(sha) {
		return fmt.Errorf("module %q: not a SHA-256 in lower-case hex", sha)
	}
	path := filepath.Join(c.dir, sha+".wasm")
	if c.isChecked(sha, path) {
		return nil
	}
	return c.fetchOnce(ctx, master, sha, path)
}

// known reports whether a get of the module with hash sha will most
// likely fetch nothing: this cache wrote or checked its file. It takes
// no look at the disk (get does).
func (c *moduleCache) known(sha string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.checked[sha]
}

// isModuleHash reports whether sha can name a module: a SHA-256 in
// lower-case hex, and so a file name that stays in the module directory.
func isModuleHash(sha string) bool {
	b, err := hex.DecodeString(sha)
	return err == nil && len(b) == sha256.Size && hex.EncodeToString(b) == sha
}

// isChecked reports whether the module with hash sha is on disk at path
// and checked (moduleCache.checked).
func (c *moduleCache) isChecked(sha, path string) bool {
	c.mu.Lock()
	ok := c.checked[sha]
	c.mu.Unlock()
	if !ok {
		return false
	}
	_, err := os.Stat(path)
	return err == nil
}

// compileCost is what compiling the module with hash sha may cost in
// memory (compileCost), once get has put it on disk; 0 if it is not
// there. The first call for a module reads it and counts its functions
// (module.Validate, as the master checked it): a module's size alone
// misjudges one of many small functions by a hundredfold. A module
// Validate refuses is costed by its size; its executor refuses it. A hash
// that is not one costs 0: it comes from an executor's SUBSCRIBE too
// (adoptListed), and must not lead the agent to read outside the module
// directory.
func (c *moduleCache) compileCost(sha string) uint64 {
	if !isModuleHash(sha) {
		return 0
	}
	c.mu.Lock()
	cost, ok := c.costs[sha]
	c.mu.Unlock()
	if ok {
		return cost
	}
	wasm, err := os.ReadFile(filepath.Join(c.dir, sha+".wasm"))
	if err != nil {
		return 0
	}
	var functions uint64
	if info, err := module.Validate(wasm, module.DefaultLimits()); err == nil {
		functions = uint64(info.Functions)
	}
	cost = compileCost(uint64(len(wasm)), functions)
	c.mu.Lock()
	c.costs[sha] = cost
	c.mu.Unlock()
	return cost
}

// fetchOnce fetches the module into path, or waits for the fetch of it
// under way, until ctx is done. The fetch runs under a context of its
// own, which the last get to give up on it cancels: a task killed while
// it waits for its module stops waiting at once, and a download no task
// waits for does not run on until the client's timeout.
func (c *moduleCache) fetchOnce(ctx context.Context, master, sha, path string) error {
	c.mu.Lock()
	f, ok := c.inflight[sha]
	if !ok {
		// A fetch may have completed between the caller's look at the
		// disk and taking the lock: look again, under it.
		if c.checked[sha] {
			if _, err := os.Stat(path); err == nil {
				c.mu.Unlock()
				return nil
			}
		}
		fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		f = &fetch{done: make(chan struct{}), cancel: cancel}
		c.inflight[sha] = f
		go func() {
			err := c.ensure(fctx, master, sha, path)
			cancel()
			c.mu.Lock()
			if c.inflight[sha] == f {
				delete(c.inflight, sha)
			}
			if err == nil {
				c.checked[sha] = true
			}
			c.mu.Unlock()
			f.err = err
			close(f.done)
		}()
	}
	f.waiters++
	c.mu.Unlock()
	select {
	case <-f.done:
		return f.err
	case <-ctx.Done():
		c.mu.Lock()
		if f.waiters--; f.waiters == 0 && c.inflight[sha] == f {
			// The next get starts a fetch of its own rather than
			// join one cancelled.
			delete(c.inflight, sha)
			f.cancel()
		}
		c.mu.Unlock()
		return ctx.Err()
	}
}

// ensure keeps the file at path if it hashes to sha, and downloads the
// module over it otherwise.
func (c *moduleCache) ensure(ctx context.Context, master, sha, path string) error {
	if fileSHA256(path) == sha {
		return nil
	}
	return c.download(ctx, master, sha, path)
}

// fileSHA256 is the SHA-256, in hex, of the file at path; "" when it
// cannot be read or is longer than any module fetched.
func fileSHA256(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(f, maxModuleBytes+1))
	if err != nil || n > maxModuleBytes {
		return ""
	}
	return hex.EncodeToString(h.Sum(nil))
}

// download fetches a module, checks its hash and stores it atomically:
// through a temporary file, synced before it is renamed, so that no
// crash leaves a partial file under the module's name.
func (c *moduleCache) download(ctx context.Context, master, sha, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, master+"/api/v1/modules/"+sha, nil)
	if err != nil {
		return err
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return fmt.Errorf("fetch module %s: %w", sha, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("fetch module %s: master answered %s", sha, resp.Status)
	}
	tmp, err := os.CreateTemp(c.dir, ".fetch-*")
	if err != nil {
		return fmt.Errorf("fetch module %s: %w", sha, err)
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(tmp, h), io.LimitReader(resp.Body, maxModuleBytes+1))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("fetch module %s: %w", sha, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != sha {
		return fmt.Errorf("fetch module %s: content hashes to %s", sha, got)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("store module %s: %w", sha, err)
	}
	return nil
}
