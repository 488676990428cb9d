package sandbox

import (
	"bytes"
	"cmp"
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
	for i, name := range []string{StdoutFile, StderrFile} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			copyOutput(name, readers[i], rotators[i], rotators[1])
			readers[i].Close()
		}()
	}
	go func() {
		wg.Wait()
		rotators[0].close() // only now: either copy may note a loss in stderr
		rotators[1].close()
		close(o.copied)
	}()
	return o, nil
}

// copyOutput copies one of a task's streams (name) from the read end of
// its pipe into its rotator until every write end is closed. It never
// stops early: with the read end closed, the task's next write would fail
// with EPIPE or, written from C (wasmtime's), raise SIGPIPE, which kills
// the whole executor. What cannot be written (the disk is full, the task
// put a directory where the file must go) is dropped rather than waited
// for, so nothing blocks the task, and the next chunk tries the file
// again; a note in stderr (notes) says how much was lost, once writing
// works again or at the end.
func copyOutput(name string, from io.Reader, to, notes *rotator) {
	buf := make([]byte, 32<<10)
	var lost int64
	var first error
	for {
		n, err := from.Read(buf)
		if n > 0 {
			w, werr := to.Write(buf[:n])
			if werr != nil {
				lost += int64(n - w)
				first = cmp.Or(first, werr)
			} else if lost > 0 && noteLoss(notes, name, lost, first) {
				lost, first = 0, nil
			}
		}
		if err != nil {
			break
		}
	}
	if lost > 0 {
		noteLoss(notes, name, lost, first)
	}
}

// noteLoss writes to notes that lost bytes of the stream name were
// dropped, the first time because of err, and returns whether it could.
func noteLoss(notes *rotator, name string, lost int64, err error) bool {
	_, werr := fmt.Fprintf(notes, "mezzo: %d bytes of %s were dropped: %v\n", lost, name, err)
	return werr == nil
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
//
// A rotator is safe for concurrent use: the copy of stderr writes to it,
// and so does the copy of stdout when it notes a loss (copyOutput).
type rotator struct {
	dir, name string
	lim       outputLimits

	mu   sync.Mutex // guards the fields below
	f    *os.File
	size int64
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
	r.mu.Lock()
	defer r.mu.Unlock()
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
// starts name afresh. The task owns the directory and may have put
// something in the way of a rename (a directory named stdout.1, say): an
// old file that cannot be shifted is overwritten by the next one, and
// name, if it cannot become name.1, is dropped, as if no old files were
// kept. Only a name that cannot be created afresh is an error. r.mu must
// be held.
func (r *rotator) rotate() error {
	base := filepath.Join(r.dir, r.name)
	if r.lim.keep > 0 {
		for k := r.lim.keep - 1; k >= 1; k-- {
			_ = os.Rename(base+"."+strconv.Itoa(k), base+"."+strconv.Itoa(k+1))
		}
		_ = os.Rename(base, base+".1")
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

func (r *rotator) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.f.Close()
}
