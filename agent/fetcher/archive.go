package fetcher

import (
	"archive/tar"
	"archive/zip"
	"compress/bzip2"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
)

// archiveKind is how a fetched file is unpacked, chosen by its name.
type archiveKind int

const (
	archiveNone archiveKind = iota // kept as it is
	archiveTar                     // .tar
	archiveTgz                     // .tar.gz, .tgz
	archiveTbz2                    // .tar.bz2, .tbz2, .tbz
	archiveZip                     // .zip
	archiveGzip                    // .gz other than .tar.gz: one file
)

// archiveKindOf chooses by the name's extension, in any case, as the Mesos
// fetcher does (which also knows .tar.xz; the standard library does not,
// so such files are kept as they are).
func archiveKindOf(name string) archiveKind {
	n := strings.ToLower(name)
	switch {
	case strings.HasSuffix(n, ".tar.gz"), strings.HasSuffix(n, ".tgz"):
		return archiveTgz
	case strings.HasSuffix(n, ".tar.bz2"), strings.HasSuffix(n, ".tbz2"), strings.HasSuffix(n, ".tbz"):
		return archiveTbz2
	case strings.HasSuffix(n, ".tar"):
		return archiveTar
	case strings.HasSuffix(n, ".zip"):
		return archiveZip
	case strings.HasSuffix(n, ".gz"):
		return archiveGzip
	}
	return archiveNone
}

// unpack writes the entries of the archive r holds into x.
func unpack(x *extractor, r *io.SectionReader, kind archiveKind) error {
	switch kind {
	case archiveTar:
		return x.tar(r)
	case archiveTgz:
		zr, err := gzip.NewReader(r)
		if err != nil {
			return fmt.Errorf("read gzip: %w", err)
		}
		return x.tar(zr)
	case archiveTbz2:
		return x.tar(bzip2.NewReader(r))
	case archiveZip:
		return x.zip(r, r.Size())
	}
	return fmt.Errorf("unpack: unknown archive kind %d", kind)
}

// tar extracts a tar stream.
func (x *extractor) tar(r io.Reader) error {
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read tar: %w", err)
		}
		if err := x.tarEntry(hdr, tr); err != nil {
			return fmt.Errorf("entry %q: %w", hdr.Name, err)
		}
	}
}

// tarEntry extracts one tar entry whose content r holds.
func (x *extractor) tarEntry(hdr *tar.Header, r io.Reader) error {
	mode := fs.FileMode(hdr.Mode).Perm()
	switch hdr.Typeflag {
	case tar.TypeReg, 0, tar.TypeGNUSparse: // 0 is the old TypeRegA
		return x.file(hdr.Name, mode, r)
	case tar.TypeDir:
		return x.dir(hdr.Name)
	case tar.TypeSymlink:
		return x.symlink(hdr.Name, hdr.Linkname)
	case tar.TypeLink:
		return x.hardlink(hdr.Name, hdr.Linkname)
	case tar.TypeXGlobalHeader:
		return nil
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		return fmt.Errorf("%w: device or FIFO", errUnsafe)
	}
	return fmt.Errorf("unsupported tar entry type %q", hdr.Typeflag)
}

// maxZipLink bounds the target of a symbolic link in a zip file, which is
// stored as the entry's content.
const maxZipLink = 4096

// zip extracts a zip file of the given size.
func (x *extractor) zip(r io.ReaderAt, size int64) error {
	zr, err := zip.NewReader(r, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) { // insecure names are refused below, by name
		return fmt.Errorf("read zip: %w", err)
	}
	for _, zf := range zr.File {
		if err := x.zipEntry(zf); err != nil {
			return fmt.Errorf("entry %q: %w", zf.Name, err)
		}
	}
	return nil
}

// zipEntry extracts one zip entry.
func (x *extractor) zipEntry(zf *zip.File) error {
	mode := zf.Mode()
	switch {
	case mode&fs.ModeSymlink != 0:
		target, err := readZip(zf, maxZipLink)
		if err != nil {
			return err
		}
		return x.symlink(zf.Name, string(target))
	case mode.IsDir():
		return x.dir(zf.Name)
	case mode.IsRegular():
		rc, err := zf.Open()
		if err != nil {
			return err
		}
		defer rc.Close()
		return x.file(zf.Name, mode.Perm(), rc)
	}
	return fmt.Errorf("%w: device, FIFO or socket", errUnsafe)
}

// readZip reads a small zip entry whole, refusing one over max bytes.
func readZip(zf *zip.File, max int64) ([]byte, error) {
	rc, err := zf.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("link target longer than %d bytes", max)
	}
	return b, nil
}

// gunzip decompresses the .gz r holds to name in root, at most MaxExtract
// bytes and what bud allows, through a temporary file.
func (f *Fetcher) gunzip(ctx context.Context, root *os.Root, r io.Reader, name string, bud *budget) error {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return fmt.Errorf("read gzip: %w", err)
	}
	out, tmp, err := createTemp(root)
	if err != nil {
		return err
	}
	defer root.Remove(tmp) // fails harmlessly after the rename
	n, err := io.Copy(&budgetWriter{b: bud, w: out}, io.LimitReader(ctxReader{ctx, zr}, f.cfg.MaxExtract+1))
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("decompress: %w", err)
	}
	if n > f.cfg.MaxExtract {
		return fmt.Errorf("decompress: %w: more than MaxExtract (%d bytes)", errTooLarge, f.cfg.MaxExtract)
	}
	return place(root, tmp, name, 0o644)
}
