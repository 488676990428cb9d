package agent

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/mezzo-cluster/mezzo/sandbox"
)

// spareCount is how many task sandboxes the agent keeps made ahead.
const spareCount = 16

// spares keeps empty task sandboxes — a directory with its stdout and
// stderr — made ahead of the launches that need them, in
// <work_dir>/spare-sandboxes, on the sandboxes' file system: a launch
// renames one into place (about 25 µs) instead of making it (on this
// machine's ext4 a directory and two files cost 0.1–3 ms, most of it the
// kernel allocating inodes), which takes the making off the launch's
// path. A burst of launches that empties the pool makes its sandboxes
// itself, as before; the pool refills on a goroutine of its own. See
// RATIONALE.md, "Why does the agent make task sandboxes ahead?".
type spares struct {
	dir string
	log *slog.Logger

	mu       sync.Mutex
	ready    []string // names in dir, each a made sandbox
	out      int      // spares taken whose move has not ended yet
	next     int      // numbers the next spare
	off      bool     // a move failed other than on a name taken: not again
	wake     chan struct{}
	quit     chan struct{}
	done     chan struct{}
	quitOnce sync.Once
}

// newSpares empties dir (spares left by an earlier run of the agent are
// not trusted: it may have died making one) and starts filling it.
func newSpares(dir string, log *slog.Logger) (*spares, error) {
	if err := os.RemoveAll(dir); err != nil {
		return nil, fmt.Errorf("spare sandboxes: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("spare sandboxes: %w", err)
	}
	s := &spares{dir: dir, log: log, wake: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	go s.fill()
	s.poke()
	return s, nil
}

// close stops the filling and waits for it; the spares left are removed
// at the next start. It may be called more than once, and on nil.
func (s *spares) close() {
	if s == nil {
		return
	}
	s.quitOnce.Do(func() { close(s.quit) })
	<-s.done
}

func (s *spares) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// fill makes spares until there are spareCount, counting those taken
// whose move has not ended (a move onto a name taken puts its spare
// back), each time one is placed.
// A spare that cannot be made (a full disk) is retried after a pause;
// launches meanwhile make their own sandboxes, and fail as they would.
func (s *spares) fill() {
	defer close(s.done)
	failing := false
	for {
		select {
		case <-s.wake:
		case <-s.quit:
			return
		}
		for {
			s.mu.Lock()
			if len(s.ready)+s.out >= spareCount {
				s.mu.Unlock()
				break
			}
			name := "s" + strconv.Itoa(s.next)
			s.next++
			s.mu.Unlock()
			if err := makeEmptySandbox(filepath.Join(s.dir, name)); err != nil {
				if !failing {
					s.log.Warn("cannot make spare task sandboxes; launches make their own", "dir", s.dir, "err", err)
				}
				failing = true
				os.RemoveAll(filepath.Join(s.dir, name))
				time.AfterFunc(time.Second, s.poke)
				break
			}
			failing = false
			s.mu.Lock()
			s.ready = append(s.ready, name)
			s.mu.Unlock()
			select {
			case <-s.quit:
				return
			default:
			}
		}
	}
}

// take hands out a spare's name in dir, or "" when none is ready; place
// ends its move.
func (s *spares) take() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.ready) == 0 || s.off {
		return ""
	}
	name := s.ready[len(s.ready)-1]
	s.ready = s.ready[:len(s.ready)-1]
	s.out++
	return name
}

// place moves a spare into parent (an open directory) as name, never
// replacing what is there. It reports false when no spare was ready or
// the move failed — the caller then makes the sandbox itself.
func (s *spares) place(parent int, name string) bool {
	if s == nil {
		return false
	}
	spare := s.take()
	if spare == "" {
		return false
	}
	err := renameNoReplace(filepath.Join(s.dir, spare), parent, name)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.out--
	if err == nil {
		s.poke() // one to make again
		return true
	}
	s.ready = append(s.ready, spare)
	if !errors.Is(err, os.ErrExist) && !s.off {
		// Another file system (EXDEV), or no renameat2 (an old
		// kernel, another system): every move would fail alike.
		s.off = true
		s.log.Warn("cannot move spare task sandboxes into place; launches make their own", "err", err)
	}
	return false
}

// makeEmptySandbox makes a task sandbox's directory with its empty
// stdout and stderr, in a directory only the agent reaches.
func makeEmptySandbox(dir string) error {
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	for _, name := range []string{sandbox.StdoutFile, sandbox.StderrFile} {
		f, err := os.OpenFile(filepath.Join(dir, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}
