package fetcher

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// maxEntries bounds the entries of one archive, so that a bomb of empty
// files cannot exhaust inodes within MaxExtract.
const maxEntries = 1 << 20

// extractor writes archive entries under root, a fresh staging directory,
// refusing names that leave it and bounding the bytes written. Writes go
// through an os.Root, so even a sequence of entries that slips past the
// name checks cannot reach outside; the links left behind are checked
// once the archive is complete (checkLinks).
type extractor struct {
	ctx     context.Context
	root    *os.Root
	left    int64   // bytes that may still be written
	limit   int64   // MaxExtract, for messages
	call    *budget // what the whole FetchAll call may still write
	entries int
}

// entryName counts an entry against maxEntries, stops if the context is
// done, and returns cleanEntry(raw).
func (x *extractor) entryName(raw string) (string, error) {
	if x.entries++; x.entries > maxEntries {
		return "", fmt.Errorf("%w: more than %d entries", errTooLarge, maxEntries)
	}
	if err := x.ctx.Err(); err != nil {
		return "", err
	}
	return cleanEntry(raw)
}

// cleanEntry checks an archive entry's name and returns it cleaned and
// slash-separated; "" means the archive's root ("." or "./"), which needs
// no entry.
func cleanEntry(raw string) (string, error) {
	switch {
	case raw == "":
		return "", errors.New("empty name")
	case strings.ContainsRune(raw, 0):
		return "", fmt.Errorf("%w: name holds a NUL byte", errUnsafe)
	case strings.ContainsRune(raw, '\\'):
		return "", fmt.Errorf("%w: name holds a backslash", errUnsafe)
	case strings.HasPrefix(raw, "/"):
		return "", fmt.Errorf("%w: absolute name", errUnsafe)
	}
	for _, e := range strings.Split(raw, "/") {
		if e == ".." {
			return "", fmt.Errorf("%w: name climbs with ..", errUnsafe)
		}
	}
	name := path.Clean(raw)
	if name == "." {
		return "", nil
	}
	return name, nil
}

// dir creates a directory entry (and its parents).
func (x *extractor) dir(raw string) error {
	name, err := x.entryName(raw)
	if err != nil || name == "" {
		return err
	}
	return x.root.MkdirAll(filepath.FromSlash(name), 0o755)
}

// file creates a regular file entry with the content r holds, replacing
// any non-directory at its name rather than writing through it.
func (x *extractor) file(raw string, perm fs.FileMode, r io.Reader) error {
	name, err := x.entryName(raw)
	if err != nil {
		return err
	}
	if name == "" {
		return errors.New("a file cannot be the archive's root")
	}
	if err := x.prepare(name); err != nil {
		return err
	}
	// No group or world write, as under the usual umask; owner may always
	// read and write so that the agent can clean up.
	perm = perm&^0o022 | 0o600
	out, err := x.root.OpenFile(filepath.FromSlash(name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	_, err = io.Copy(&extractWriter{x: x, w: &budgetWriter{b: x.call, w: out}}, ctxReader{x.ctx, r})
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// symlink creates a symbolic link entry. A target that is absolute or
// climbs out of the archive as written is refused here; combinations of
// links that lead out are refused by checkLinks.
func (x *extractor) symlink(raw, target string) error {
	name, err := x.entryName(raw)
	if err != nil {
		return err
	}
	switch {
	case name == "":
		return errors.New("a link cannot be the archive's root")
	case target == "":
		return errors.New("empty link target")
	case strings.ContainsRune(target, 0):
		return fmt.Errorf("%w: link target holds a NUL byte", errUnsafe)
	case strings.HasPrefix(target, "/"):
		return fmt.Errorf("%w: link to absolute path %q", errUnsafe, target)
	case !filepath.IsLocal(path.Join(path.Dir(name), target)):
		return fmt.Errorf("%w: link to %q leads outside", errUnsafe, target)
	}
	if err := x.prepare(name); err != nil {
		return err
	}
	return x.root.Symlink(target, filepath.FromSlash(name))
}

// hardlink creates a hard link entry to a regular file extracted earlier.
func (x *extractor) hardlink(raw, target string) error {
	name, err := x.entryName(raw)
	if err != nil {
		return err
	}
	old, err := cleanEntry(target)
	if err != nil {
		return fmt.Errorf("hard link to %q: %w", target, err)
	}
	if name == "" || old == "" {
		return errors.New("a hard link cannot be or name the archive's root")
	}
	fi, err := x.root.Lstat(filepath.FromSlash(old))
	if err != nil {
		return fmt.Errorf("hard link to %q: %w", target, err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("hard link to %q, which is not a regular file", target)
	}
	if err := x.prepare(name); err != nil {
		return err
	}
	return x.root.Link(filepath.FromSlash(old), filepath.FromSlash(name))
}

// prepare makes name's parent directory and removes what is at name,
// unless it is a directory, as tar does before writing an entry.
func (x *extractor) prepare(name string) error {
	if dir := path.Dir(name); dir != "." {
		if err := x.root.MkdirAll(filepath.FromSlash(dir), 0o755); err != nil {
			return err
		}
	}
	fi, err := x.root.Lstat(filepath.FromSlash(name))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return err
	case fi.IsDir():
		return errors.New("a directory is in the way")
	}
	return x.root.Remove(filepath.FromSlash(name))
}

// extractWriter writes to w while the extractor's MaxExtract lasts.
type extractWriter struct {
	x *extractor
	w io.Writer
}

func (b *extractWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > b.x.left {
		return 0, fmt.Errorf("%w: archive expands to more than MaxExtract (%d bytes)", errTooLarge, b.x.limit)
	}
	n, err := b.w.Write(p)
	b.x.left -= int64(n)
	return n, err
}
