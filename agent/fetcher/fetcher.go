package fetcher

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"github.com/mezzo-cluster/mezzo/api"
)

// Prefixes of the temporary files and directories a fetch makes in the
// sandbox; each is renamed into place or removed before Fetch returns.
const (
	tmpFilePrefix  = ".mezzo-fetch-"
	tmpStagePrefix = ".mezzo-extract-"
)

// Fetcher fetches CommandInfo.uris into sandboxes. Make one with New; the
// zero value is not usable. It is safe for concurrent use by multiple
// goroutines, and fetches of one cached URI share a single download.
type Fetcher struct {
	cfg Config

	mu      sync.Mutex
	flights map[string]*flight // cache downloads under way, by cache key
}

// New returns a Fetcher for cfg, creating cfg.CacheDir if it is set.
func New(cfg Config) (*Fetcher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if cfg.CacheDir != "" {
		// The agent's alone (it copies an entry into a sandbox): tasks of
		// every framework can reach the work directory it is in, and an
		// entry may be one framework's private artifact.
		if err := os.MkdirAll(cfg.CacheDir, 0o700); err != nil {
			return nil, fmt.Errorf("create fetch cache: %w", err)
		}
		if err := os.Chmod(cfg.CacheDir, 0o700); err != nil { // made by an earlier build
			return nil, fmt.Errorf("create fetch cache: %w", err)
		}
		// Downloads cut short by a crash: no download runs yet.
		tmps, _ := filepath.Glob(filepath.Join(cfg.CacheDir, cacheTempPrefix+"*"))
		for _, t := range tmps {
			os.Remove(t)
		}
	}
	return &Fetcher{cfg: cfg, flights: map[string]*flight{}}, nil
}

// FetchAll fetches uris into sandboxDir one after the other, in order, so
// that a later URI may overwrite what an earlier one wrote, writing at
// most limit's bytes in all (see Limit; the zero Limit sets no bound). It
// stops at the first error, which it returns; what earlier URIs fetched
// stays, as Fetch describes, and stays counted in limit.Shared.
func (f *Fetcher) FetchAll(ctx context.Context, uris []api.CommandURI, sandboxDir string, limit Limit) error {
	b := &budget{limit: limit}
	for _, u := range uris {
		before := b.used
		if _, err := f.fetchWithin(ctx, u, sandboxDir, b); err != nil {
			// The URI left nothing (Fetch): what it wrote and did not
			// give back goes back to the shared room.
			b.release(b.used - before)
			return err
		}
	}
	return nil
}

// Fetch fetches one URI into sandboxDir, which must exist, and returns
// the path it wrote: the file, or sandboxDir itself for an extracted
// archive, or the decompressed file for a .gz (named without ".gz", in
// sandboxDir as Mesos does). A file kept as fetched gets mode 0644, or
// 0755 when uri.Executable is set; extracted files keep their archive
// modes without setuid, setgid, sticky or group and world write bits.
// On error nothing is left in sandboxDir but what was there before, and
// the error names the URI without user information or query. Fetch may
// be called from any goroutine; ctx bounds the whole fetch. Only Config's
// limits bound it: FetchAll takes a Limit.
func (f *Fetcher) Fetch(ctx context.Context, uri api.CommandURI, sandboxDir string) (string, error) {
	return f.fetchWithin(ctx, uri, sandboxDir, &budget{})
}

// fetchWithin is Fetch counting what it writes against b.
func (f *Fetcher) fetchWithin(ctx context.Context, uri api.CommandURI, sandboxDir string, b *budget) (string, error) {
	p, err := f.fetch(ctx, uri, sandboxDir, b)
	if err != nil {
		return "", fmt.Errorf("fetch %q: %w", redact(uri.Value), err)
	}
	return p, nil
}

func (f *Fetcher) fetch(ctx context.Context, uri api.CommandURI, sandboxDir string, bud *budget) (string, error) {
	src, err := parseSource(uri.Value, f.cfg.ModuleURL)
	if err != nil {
		return "", err
	}
	name, kind, err := target(uri, src)
	if err != nil {
		return "", err
	}
	root, err := os.OpenRoot(sandboxDir)
	if err != nil {
		return "", fmt.Errorf("open sandbox: %w", err)
	}
	defer root.Close()
	b, err := f.obtain(ctx, uri, src, root, bud)
	if err != nil {
		return "", err
	}
	defer b.close(root)
	switch kind {
	case archiveNone:
		err = f.keep(ctx, root, b, name, uri)
	case archiveGzip:
		err = f.gunzip(ctx, root, b.file, name, bud)
	default:
		var r *io.SectionReader
		if r, err = b.section(); err == nil {
			err = f.extract(ctx, root, r, kind, bud)
		}
		name = "."
	}
	if err != nil {
		return "", err
	}
	return filepath.Join(sandboxDir, filepath.FromSlash(name)), nil
}

// target returns what a fetch of uri writes: how it unpacks the fetched
// bytes and, unless it extracts an archive, the slash-separated name of
// the file it writes in the sandbox.
func target(uri api.CommandURI, src source) (name string, kind archiveKind, err error) {
	if name, err = outputName(src, uri.OutputFile); err != nil {
		return "", 0, err
	}
	if !extracts(uri) {
		return name, archiveNone, nil
	}
	kind = archiveKindOf(name)
	if kind == archiveGzip {
		name, err = gunzipName(name)
	}
	return name, kind, err
}

// gunzipName returns the name a .gz file decompresses to: its last
// element without ".gz", in the sandbox directory itself as Mesos does.
func gunzipName(name string) (string, error) {
	stem := path.Base(name)
	stem = stem[:len(stem)-len(".gz")]
	if err := checkName(stem); err != nil {
		return "", fmt.Errorf("name the decompressed file: %w", err)
	}
	return stem, nil
}

// extracts reports whether uri asks for extraction: extract is true by
// default, and executable turns it off.
func extracts(uri api.CommandURI) bool {
	return (uri.Extract == nil || *uri.Extract) && (uri.Executable == nil || !*uri.Executable)
}

// blob holds the fetched bytes: a temporary file in the sandbox, or the
// cache file.
type blob struct {
	file *os.File // open for reading at offset 0
	tmp  string   // its name in the sandbox if temporary, else ""
	bud  *budget  // the call's budget, which counts a temporary file
	size int64    // the bytes of the temporary file counted in bud
}

// close closes the blob and removes it if it is still a temporary file,
// giving its bytes back to the budget: an archive's download no longer
// takes room once extracted. A file renamed into place stays counted.
func (b *blob) close(root *os.Root) {
	b.file.Close()
	if b.tmp != "" && root.Remove(b.tmp) == nil {
		b.bud.release(b.size)
	}
}

// section returns the blob's bytes as a reader for archives that need
// random access.
func (b *blob) section() (*io.SectionReader, error) {
	fi, err := b.file.Stat()
	if err != nil {
		return nil, err
	}
	return io.NewSectionReader(b.file, 0, fi.Size()), nil
}

// obtain fetches src, from the cache if uri asks for it and there is one,
// else into a temporary file in the sandbox counted against bud. A
// download into the cache is not: the cache is not the sandbox, and
// CacheMaxBytes bounds it.
func (f *Fetcher) obtain(ctx context.Context, uri api.CommandURI, src source, root *os.Root, bud *budget) (*blob, error) {
	if uri.Cache != nil && *uri.Cache && f.cfg.CacheDir != "" {
		file, err := f.cached(ctx, uri.Value, src)
		if err != nil {
			return nil, err
		}
		return &blob{file: file, bud: bud}, nil
	}
	file, tmp, err := createTemp(root)
	if err != nil {
		return nil, err
	}
	b := &blob{file: file, tmp: tmp, bud: bud}
	w := &budgetWriter{b: bud, w: file}
	err = f.fetchTo(ctx, src, w)
	b.size = w.n
	if err == nil {
		_, err = file.Seek(0, io.SeekStart)
	}
	if err != nil {
		b.close(root)
		return nil, err
	}
	return b, nil
}

// keep puts the fetched file at name in the sandbox, as it is.
func (f *Fetcher) keep(ctx context.Context, root *os.Root, b *blob, name string, uri api.CommandURI) error {
	tmp := b.tmp
	if tmp == "" { // a cache file: copy it, so that the task cannot change the cache
		file, t, err := createTemp(root)
		if err != nil {
			return err
		}
		defer root.Remove(t) // fails harmlessly after the rename
		_, err = io.Copy(&budgetWriter{b: b.bud, w: file}, ctxReader{ctx, b.file})
		if cerr := file.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("copy from cache: %w", err)
		}
		tmp = t
	}
	mode := fs.FileMode(0o644)
	if uri.Executable != nil && *uri.Executable {
		mode = 0o755
	}
	return place(root, tmp, name, mode)
}

// place renames the temporary file tmp to name, both in root, creating
// the directories on the way; on error it removes those it created.
func place(root *os.Root, tmp, name string, mode fs.FileMode) (err error) {
	if created := firstMissing(root, path.Dir(name)); created != "" {
		if err := root.MkdirAll(filepath.FromSlash(path.Dir(name)), 0o755); err != nil {
			return fmt.Errorf("create output directory: %w", err)
		}
		defer func() {
			if err != nil {
				root.RemoveAll(filepath.FromSlash(created))
			}
		}()
	}
	if err := root.Chmod(tmp, mode); err != nil {
		return fmt.Errorf("set mode: %w", err)
	}
	if err := root.Rename(tmp, filepath.FromSlash(name)); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

// firstMissing returns the outermost directory on the way to dir
// (slash-separated, in root) that does not exist yet, or "" if dir exists.
func firstMissing(root *os.Root, dir string) string {
	if dir == "." {
		return ""
	}
	p := ""
	for _, e := range strings.Split(dir, "/") {
		p = path.Join(p, e)
		if _, err := root.Lstat(filepath.FromSlash(p)); errors.Is(err, fs.ErrNotExist) {
			return p
		}
	}
	return ""
}

// createTemp creates an empty temporary file in root, for reading and
// writing, and returns it with its name.
func createTemp(root *os.Root) (*os.File, string, error) {
	name := tmpFilePrefix + rand.Text()
	file, err := root.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, "", fmt.Errorf("create temporary file: %w", err)
	}
	return file, name, nil
}
