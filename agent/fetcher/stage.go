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
	"syscall"
)

// maxLinks bounds the links followed while resolving one path, as Linux's
// MAXSYMLINKS does.
const maxLinks = 40

// extract unpacks the archive r holds into root, the sandbox: into a
// staging directory first, whose links are then checked and whose
// entries are then renamed into the sandbox, merging with directories
// already there. On error the staging directory is removed and the
// sandbox is as it was.
func (f *Fetcher) extract(ctx context.Context, root *os.Root, r *io.SectionReader, kind archiveKind, bud *budget) error {
	stage := tmpStagePrefix + rand.Text()
	if err := root.Mkdir(stage, 0o700); err != nil {
		return fmt.Errorf("create staging directory: %w", err)
	}
	defer root.RemoveAll(stage)
	sr, err := root.OpenRoot(stage)
	if err != nil {
		return fmt.Errorf("open staging directory: %w", err)
	}
	defer sr.Close()
	x := &extractor{ctx: ctx, root: sr, left: f.cfg.MaxExtract, limit: f.cfg.MaxExtract, call: bud}
	if err := unpack(x, r, kind); err != nil {
		return fmt.Errorf("extract: %w", err)
	}
	v := &view{stage: sr, sandbox: root}
	moves, err := v.plan(".")
	if err != nil {
		return fmt.Errorf("extract: %w", err)
	}
	if err := v.checkLinks(); err != nil {
		return fmt.Errorf("extract: %w", err)
	}
	for _, m := range moves {
		if err := root.Rename(filepath.Join(stage, m), m); err != nil {
			return fmt.Errorf("extract: move %q into the sandbox: %w", m, err)
		}
	}
	return nil
}

// view is the sandbox as it will be once the staged entries are moved in:
// staged entries over what the sandbox holds.
type view struct {
	stage   *os.Root
	sandbox *os.Root
}

// plan returns the staged entries under dir to rename into the sandbox,
// descending into directories that exist on both sides. It refuses a
// directory over a non-directory or the other way round, including a
// directory over a link to one, so that the merge follows no links.
func (v *view) plan(dir string) ([]string, error) {
	entries, err := fs.ReadDir(v.stage.FS(), dir)
	if err != nil {
		return nil, err
	}
	var moves []string
	for _, e := range entries {
		rel := path.Join(dir, e.Name())
		old, err := v.sandbox.Lstat(filepath.FromSlash(rel))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			moves = append(moves, rel)
		case err != nil:
			return nil, err
		case e.IsDir() && old.IsDir():
			sub, err := v.plan(rel)
			if err != nil {
				return nil, err
			}
			moves = append(moves, sub...)
		case e.IsDir() || old.IsDir():
			return nil, fmt.Errorf("entry %q: a directory and a file meet there in the sandbox", rel)
		default:
			moves = append(moves, rel) // replaces a file or link, as tar does
		}
	}
	return moves, nil
}

// checkLinks refuses the first staged symbolic link that, resolved in the
// view, leads outside the sandbox.
func (v *view) checkLinks() error {
	return fs.WalkDir(v.stage.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.Type()&fs.ModeSymlink == 0 {
			return err
		}
		target, err := v.stage.Readlink(filepath.FromSlash(p))
		if err != nil {
			return err
		}
		if err := v.inside(path.Dir(p), target); err != nil {
			return fmt.Errorf("entry %q: link to %q: %w", p, target, err)
		}
		return nil
	})
}

// inside resolves target from directory dir as the kernel would, one
// element at a time, following links in the view, and reports an error if
// it climbs out of the sandbox. Missing elements are taken as they are
// written (so a dangling link that stays inside is allowed).
func (v *view) inside(dir, target string) error {
	todo := append(strings.Split(dir, "/"), strings.Split(target, "/")...)
	var done []string
	links := 0
	for len(todo) > 0 {
		e := todo[0]
		todo = todo[1:]
		switch e {
		case "", ".":
			continue
		case "..":
			if len(done) == 0 {
				return fmt.Errorf("%w: leads outside the sandbox", errUnsafe)
			}
			done = done[:len(done)-1]
			continue
		}
		rel := filepath.Join(append(done, e)...)
		next, err := v.readlink(rel)
		if err != nil {
			return err
		}
		if next == "" {
			done = append(done, e)
			continue
		}
		if links++; links > maxLinks {
			return fmt.Errorf("%w: more than %d links to follow", errUnsafe, maxLinks)
		}
		if strings.HasPrefix(next, "/") {
			return fmt.Errorf("%w: leads to absolute path %q", errUnsafe, next)
		}
		todo = append(strings.Split(next, "/"), todo...)
	}
	return nil
}

// readlink returns the target of rel in the view if it is a link, or ""
// if it is something else or nothing. Every directory on the way to rel
// has been resolved already, so none is a link.
func (v *view) readlink(rel string) (string, error) {
	for _, r := range []*os.Root{v.stage, v.sandbox} {
		fi, err := r.Lstat(rel)
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			continue
		}
		if err != nil {
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			return "", nil
		}
		return r.Readlink(rel)
	}
	return "", nil
}
