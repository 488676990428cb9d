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

	"github.com/mezzo-cluster/mezzo/sandbox"
)

// maxModuleBytes bounds a module fetched from the master.
const maxModuleBytes = 64 << 20

// moduleCache fetches modules from the master by hash, keeps them on disk
// and hands out compiled modules. It is safe for concurrent use; a module
// is fetched once however many tasks ask for it at the same time.
type moduleCache struct {
	dir    string
	engine *sandbox.Engine
	client *http.Client

	mu       sync.Mutex
	inflight map[string]*fetch
}

type fetch struct {
	done chan struct{}
	err  error
}

func newModuleCache(dir string, engine *sandbox.Engine, client *http.Client) *moduleCache {
	return &moduleCache{dir: dir, engine: engine, client: client, inflight: map[string]*fetch{}}
}

// get returns the compiled module with hash sha, fetching it from master
// if it is not on disk.
func (c *moduleCache) get(ctx context.Context, master, sha string) (*sandbox.Module, error) {
	path := filepath.Join(c.dir, sha+".wasm")
	if _, err := os.Stat(path); err != nil {
		if err := c.fetchOnce(ctx, master, sha, path); err != nil {
			return nil, err
		}
	}
	wasm, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read module %s: %w", sha, err)
	}
	return c.engine.Compile(ctx, wasm)
}

func (c *moduleCache) fetchOnce(ctx context.Context, master, sha, path string) error {
	c.mu.Lock()
	f, ok := c.inflight[sha]
	if !ok {
		f = &fetch{done: make(chan struct{})}
		c.inflight[sha] = f
		go func() {
			f.err = c.download(ctx, master, sha, path)
			c.mu.Lock()
			delete(c.inflight, sha)
			c.mu.Unlock()
			close(f.done)
		}()
	}
	c.mu.Unlock()
	select {
	case <-f.done:
		return f.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// download fetches a module, checks its hash and stores it atomically.
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
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("fetch module %s: %w", sha, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != sha {
		return fmt.Errorf("fetch module %s: content hashes to %s", sha, got)
	}
	return os.Rename(tmp.Name(), path)
}
