package fetcher

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// fetchTo writes the bytes src names to w: at most MaxBytes of them, and
// for a module only bytes that hash to its name (w then holds them, and
// the caller must discard them on error).
func (f *Fetcher) fetchTo(ctx context.Context, src source, w io.Writer) error {
	if src.kind == kindLocal {
		r, size, err := f.openLocal(src.path)
		if err != nil {
			return err
		}
		defer r.Close()
		return f.copyFrom(ctx, src, r, size, w)
	}
	client := f.cfg.HTTPClient
	if src.kind == kindModule {
		client = f.cfg.ModuleClient
	}
	dctx, stall := watchStall(ctx, f.cfg.StallTimeout)
	defer stall.stop()
	r, size, err := f.get(dctx, client, src.url)
	if err == nil {
		stall.progress() // the headers came
		err = f.copyFrom(dctx, src, stallReader{r, stall}, size, w)
		r.Close()
	}
	if err != nil && ctx.Err() == nil && errors.Is(context.Cause(dctx), errStalled) {
		return fmt.Errorf("download: %w: no bytes arrived for %v", errStalled, f.cfg.StallTimeout)
	}
	return err
}

// copyFrom copies what r reads, of declared length size (-1 if not
// known), to w, as fetchTo describes.
func (f *Fetcher) copyFrom(ctx context.Context, src source, r io.Reader, size int64, w io.Writer) error {
	if size > f.cfg.MaxBytes {
		return fmt.Errorf("%w: %d bytes, more than MaxBytes (%d)", errTooLarge, size, f.cfg.MaxBytes)
	}
	var h hash.Hash
	if src.kind == kindModule {
		h = sha256.New()
		w = io.MultiWriter(w, h)
	}
	n, err := io.Copy(w, io.LimitReader(ctxReader{ctx, r}, f.cfg.MaxBytes+1))
	if errors.Is(err, errOverLimit) { // w refused it: no read failed
		return fmt.Errorf("write: %w", err)
	}
	if err != nil {
		return fmt.Errorf("read: %w", err)
	}
	if n > f.cfg.MaxBytes {
		return fmt.Errorf("%w: more than MaxBytes (%d bytes)", errTooLarge, f.cfg.MaxBytes)
	}
	if h != nil {
		if got := hex.EncodeToString(h.Sum(nil)); got != src.sha {
			return fmt.Errorf("%w: content hashes to %s", errHash, got)
		}
	}
	return nil
}

// get starts a GET and returns its body and declared length (-1 if none).
func (f *Fetcher) get(ctx context.Context, client *http.Client, rawURL string) (io.ReadCloser, int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, 0, errors.New("malformed URL")
	}
	resp, err := client.Do(req)
	if err != nil {
		// A *url.Error repeats the URL, user name included; the caller
		// adds the redacted one.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, 0, fmt.Errorf("download: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, 0, fmt.Errorf("download: server answered %s", resp.Status)
	}
	return resp.Body, resp.ContentLength, nil
}

// openLocal opens a regular file on the agent, within LocalDirs if set.
func (f *Fetcher) openLocal(p string) (io.ReadCloser, int64, error) {
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return nil, 0, fmt.Errorf("copy: %w", err)
	}
	if !f.localAllowed(real) {
		return nil, 0, fmt.Errorf("copy: %w: %s is outside the directories this agent fetches local files from (%s)",
			errUnsafe, p, strings.Join(f.cfg.LocalDirs, ", "))
	}
	// Non-blocking: opening a FIFO would otherwise wait, without end and
	// deaf to ctx, for a writer. It is refused just below; for a regular
	// file the flag changes nothing.
	file, err := os.OpenFile(real, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, 0, fmt.Errorf("copy: %w", err)
	}
	fi, err := file.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = errors.New("not a regular file")
	}
	if err != nil {
		file.Close()
		return nil, 0, fmt.Errorf("copy: %w", err)
	}
	return file, fi.Size(), nil
}

// localAllowed reports whether real, a path without links, lies under
// one of LocalDirs (or LocalDirs is empty).
func (f *Fetcher) localAllowed(real string) bool {
	if len(f.cfg.LocalDirs) == 0 {
		return true
	}
	for _, d := range f.cfg.LocalDirs {
		if rd, err := filepath.EvalSymlinks(d); err == nil {
			if rel, err := filepath.Rel(rd, real); err == nil && filepath.IsLocal(rel) {
				return true
			}
		}
	}
	return false
}

// ctxReader stops reading once its context is done, for sources such as
// local files that do not watch the context themselves.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// stallWatch cancels a download's context with errStalled once no bytes
// have arrived for its timeout (Config.StallTimeout).
type stallWatch struct {
	timeout time.Duration
	timer   *time.Timer
	cancel  context.CancelCauseFunc
}

// watchStall returns a context for a download that ends when ctx does or
// when the download stalls, and the watch to tell of its progress and to
// stop once it is done.
func watchStall(ctx context.Context, timeout time.Duration) (context.Context, *stallWatch) {
	dctx, cancel := context.WithCancelCause(ctx)
	s := &stallWatch{timeout: timeout, cancel: cancel}
	s.timer = time.AfterFunc(timeout, func() { cancel(errStalled) })
	return dctx, s
}

// progress notes that bytes arrived: the timeout starts again. Once the
// watch has fired the context stays cancelled.
func (s *stallWatch) progress() { s.timer.Reset(s.timeout) }

// stop ends the watch and releases its context.
func (s *stallWatch) stop() {
	s.timer.Stop()
	s.cancel(nil)
}

// stallReader reads a download's body, telling its stallWatch of every
// byte that arrives.
type stallReader struct {
	r     io.Reader
	stall *stallWatch
}

func (s stallReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if n > 0 {
		s.stall.progress()
	}
	return n, err
}
