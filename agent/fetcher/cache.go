package fetcher

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
)

// flight is one download into the cache, shared by every fetch of its URI
// that arrives while it runs.
type flight struct {
	done   chan struct{} // closed when err is set
	err    error
	cancel context.CancelFunc

	waiters int // fetches waiting for done; f.mu must be held
}

// cacheKey names the cache file of a URI.
func cacheKey(value string) string {
	sum := sha256.Sum256([]byte(value))
	return hex.EncodeToString(sum[:])
}

// cached returns the path of the cache file holding what value names,
// downloading it first unless it is there. Concurrent calls for one value
// share one download, which runs until it ends or every caller waiting
// for it has given up.
func (f *Fetcher) cached(ctx context.Context, value string, src source) (string, error) {
	key := cacheKey(value)
	p := filepath.Join(f.cfg.CacheDir, key)
	f.mu.Lock()
	fl := f.flights[key]
	if fl == nil {
		// Checked under mu so that a download that just finished (and
		// left flights) is seen.
		if _, err := os.Stat(p); err == nil {
			f.mu.Unlock()
			return p, nil
		}
		fl = f.startFlight(ctx, key, src, p)
	}
	fl.waiters++
	f.mu.Unlock()

	select {
	case <-fl.done:
		if fl.err != nil {
			return "", fl.err
		}
		return p, nil
	case <-ctx.Done():
		f.leaveFlight(key, fl)
		return "", ctx.Err()
	}
}

// startFlight starts the download of src into p. f.mu must be held.
func (f *Fetcher) startFlight(ctx context.Context, key string, src source, p string) *flight {
	// The download outlives the context of the fetch that started it, as
	// others may be waiting; leaveFlight cancels it when none are.
	dctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	fl := &flight{done: make(chan struct{}), cancel: cancel}
	f.flights[key] = fl
	go func() {
		err := f.fill(dctx, src, p)
		f.mu.Lock()
		if f.flights[key] == fl {
			delete(f.flights, key)
		}
		f.mu.Unlock()
		fl.err = err
		close(fl.done)
		cancel()
	}()
	return fl
}

// leaveFlight records that a waiter gave up, and cancels the download
// when it was the last, so that later fetches start afresh.
func (f *Fetcher) leaveFlight(key string, fl *flight) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fl.waiters--
	if fl.waiters == 0 {
		fl.cancel()
		if f.flights[key] == fl {
			delete(f.flights, key)
		}
	}
}

// fill downloads src into a temporary file in the cache directory and
// renames it to p once complete and synced.
func (f *Fetcher) fill(ctx context.Context, src source, p string) error {
	tmp, err := os.CreateTemp(f.cfg.CacheDir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("cache: %w", err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	err = f.fetchTo(ctx, src, tmp)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o600) // see New: the agent's alone
	}
	if err == nil {
		err = os.Rename(tmp.Name(), p)
	}
	return err
}
