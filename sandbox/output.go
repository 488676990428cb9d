package sandbox

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// output holds what a task writes its stdout and stderr to: the files
// themselves, or — when their size is bounded — the write ends of pipes
// whose other ends a goroutine copies into size-bounded, rotated files.
// Either way the task (a guest's WASI streams, wasmtime's C writer, a
// native child) gets a plain descriptor.
type output struct {
	stdout, stderr *os.File
	copied         chan struct{} // closed once the copies are done (at once without rotation)
}

// outputLimits bounds a task's stdout and stderr files; see
// Spec.OutputMaxBytes.
type outputLimits struct {
	maxBytes int64
	keep     int
}

// outputLimits returns the spec's bounds on output files.
func (s Spec) outputLimits() outputLimits {
	return outputLimits{maxBytes: s.OutputMaxBytes, keep: s.OutputKeep}
}

// outputDrainTimeout bounds the wait for a finished task's output copies
// (see output.drain).
const outputDrainTimeout = 5 * time.Second

// openOutput opens dir/stdout and dir/stderr for appending, creating them
// if needed, or sets up their rotation.
func openOutput(dir string, lim outputLimits) (output, error) {
	if lim.maxBytes <= 0 {
		stdout, err := openAppend(dir, StdoutFile)
		if err != nil {
			return output{}, err
		}
		stderr, err := openAppend(dir, StderrFile)
		if err != nil {
			stdout.Close()
			return output{}, err
		}
		done := make(chan struct{})
		close(done)
		return output{stdout: stdout, stderr: stderr, copied: done}, nil
	}
	o := output{copied: make(chan struct{})}
	var readers [2]*os.File
	var rotators [2]*rotator
	for i, name := range []string{StdoutFile, StderrFile} {
		rot, err := newRotator(dir, name, lim)
		if err == nil {
			readers[i], err = pipeInto(&o, i)
		}
		if err != nil {
			for _, f := range []*os.File{readers[0], readers[1], o.stdout, o.stderr} {
				if f != nil {
					f.Close()
				}
			}
			for _, r := range rotators {
				if r != nil {
					r.close()
				}
			}
			if rot != nil {
				rot.close()
			}
			return output{}, err
		}
		rotators[i] = rot
	}
	var wg sync.WaitGroup
	for i := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Read errors end the copy (the writers are gone); a write
			// error is in the rotator's file and is retried on the next
			// write, so nothing the task wrote blocks it.
			_, _ = io.Copy(rotators[i], readers[i])
			readers[i].Close()
			rotators[i].close()
		}()
	}
	go func() {
		wg.Wait()
		close(o.copied)
	}()
	return o, nil
}

// pipeInto makes a pipe whose write end becomes o's stdout (i 0) or
// stderr (i 1), and returns its read end.
func pipeInto(o *output, i int) (*os.File, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("output pipe: %w", err)
	}
	if i == 0 {
		o.stdout = w
	} else {
		o.stderr = w
	}
	return r, nil
}

func openAppend(dir, name string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", name, err)
	}
	return f, nil
}

// close closes this process's write ends; the first error wins. A native
// child keeps its own copies, so the copies go on until it and its
// children are gone.
func (o output) close() error {
	err1 := o.stdout.Close()
	err2 := o.stderr.Close()
	return errors.Join(err1, err2)
}

// drain waits for the copies to finish, so that a task's result is
// reported only once everything it wrote is in its files, but no longer
// than timeout: a process that escaped the task (without a cgroup to
// catch it) may hold a write end for ever.
func (o output) drain(timeout time.Duration) {
	select {
	case <-o.copied:
	case <-time.After(timeout):
	}
}

// rotator writes to dir/name until the file would pass maxBytes, then
// renames it name.1 (name.1 to name.2, and so on, keeping at most keep
// of them) and starts a new one. Writes come from a pipe in chunks of any
// size, so a chunk that does not fit is split, at its last line break
// that fits when it has one: no file passes the bound, and lines stay
// whole unless a single line is longer than the bound.
type rotator struct {
	dir, name string
	lim       outputLimits
	f         *os.File
	size      int64
}

func newRotator(dir, name string, lim outputLimits) (*rotator, error) {
	f, err := openAppend(dir, name)
	if err != nil {
		return nil, err
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open %s: %w", name, err)
	}
	return &rotator{dir: dir, name: name, lim: lim, f: f, size: info.Size()}, nil
}

func (r *rotator) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		room := r.lim.maxBytes - r.size
		chunk := p
		if int64(len(chunk)) > room {
			chunk = p[:max(room, 0)]
			if i := bytes.LastIndexByte(chunk, '\n'); i >= 0 {
				chunk = chunk[:i+1]
			} else if r.size > 0 {
				chunk = nil // start the line in a fresh file
			}
		}
		if len(chunk) == 0 {
			if err := r.rotate(); err != nil {
				return written, err
			}
			continue
		}
		n, err := r.f.Write(chunk)
		r.size += int64(n)
		written += n
		if err != nil {
			return written, err
		}
		p = p[n:]
	}
	return written, nil
}

// rotate shifts name.k to name.k+1 (dropping the one past keep) and
// starts name afresh.
func (r *rotator) rotate() error {
	base := filepath.Join(r.dir, r.name)
	if r.lim.keep > 0 {
		for k := r.lim.keep - 1; k >= 1; k-- {
			err := os.Rename(base+"."+strconv.Itoa(k), base+"."+strconv.Itoa(k+1))
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("rotate %s: %w", r.name, err)
			}
		}
		if err := os.Rename(base, base+".1"); err != nil {
			return fmt.Errorf("rotate %s: %w", r.name, err)
		}
	}
	f, err := createFresh(base)
	if err != nil {
		return fmt.Errorf("rotate %s: %w", r.name, err)
	}
	r.f.Close()
	r.f, r.size = f, 0
	return nil
}

// createFresh creates the file at path anew, for appending, removing
// whatever is there first. It never follows a link: the task owns its
// sandbox and may put a link where its output goes (again and again,
// racing the rotation), and the executor writing there may be root.
// O_CREAT with O_EXCL fails on anything at path, a link included,
// without following it.
func createFresh(path string) (*os.File, error) {
	for tries := 0; ; tries++ {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o644)
		if err == nil || !errors.Is(err, os.ErrExist) || tries == 8 {
			return f, err
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
	}
}

func (r *rotator) close() { r.f.Close() }
