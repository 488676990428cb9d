package fetcher

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
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

// cacheTempPrefix starts the names of downloads into the cache still
// under way.
const cacheTempPrefix = ".tmp-"

// cached returns the cache file holding what value names, open,
// downloading it first unless it is there. Concurrent calls for one value
// share one download, which runs until it ends or every caller waiting
// for it has given up. The file is opened under f.mu, which eviction
// holds, so that an entry evicted meanwhile is never missed: an open file
// outlives its removal.
func (f *Fetcher) cached(ctx context.Context, value string, src source) (*os.File, error) {
	key := cacheKey(value)
	p := filepath.Join(f.cfg.CacheDir, key)
	f.mu.Lock()
	fl := f.flights[key]
	if fl == nil {
		// Checked under mu so that a download that just finished (and
		// left flights) is seen.
		if file, err := os.Open(p); err == nil {
			now := time.Now()
			_ = os.Chtimes(p, now, now) // used now: evicted last
			f.mu.Unlock()
			return file, nil
		}
		fl = f.startFlight(ctx, key, src, p)
	}
	fl.waiters++
	f.mu.Unlock()

	select {
	case <-fl.done:
		if fl.err != nil {
			return nil, fl.err
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		file, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("cache: %w", err)
		}
		return file, nil
	case <-ctx.Done():
		f.leaveFlight(key, fl)
		return nil, ctx.Err()
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
		if err == nil {
			f.evict(key)
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
	tmp, err := os.CreateTemp(f.cfg.CacheDir, cacheTempPrefix+"*")
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

// evict removes the cache entries used longest ago (by modification
// time, which a hit renews) until the cache holds at most CacheMaxBytes,
// never keep, the entry just downloaded. f.mu must be held: cached opens
// entries under it. A fetch that holds an entry open keeps reading it.
func (f *Fetcher) evict(keep string) {
	entries, err := os.ReadDir(f.cfg.CacheDir)
	if err != nil {
		return
	}
	type entry struct {
		name string
		size int64
		used time.Time
	}
	var all []entry
	var total int64
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), cacheTempPrefix) || !e.Type().IsRegular() {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue
		}
		total += fi.Size()
		if e.Name() != keep {
			all = append(all, entry{e.Name(), fi.Size(), fi.ModTime()})
		}
	}
	slices.SortFunc(all, func(a, b entry) int { return a.used.Compare(b.used) })
	for _, e := range all {
		if total <= f.cfg.CacheMaxBytes {
			return
		}
		if err := os.Remove(filepath.Join(f.cfg.CacheDir, e.name)); err == nil {
			total -= e.size
		}
	}
}
