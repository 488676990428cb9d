//go:build !linux

package files

import (
	"io/fs"
	"os"
	"path/filepath"
)

// statFile describes the open file f itself. Off Linux, link counts are
// reported as 1 and owners as unknown.
func statFile(f *os.File) (fileStat, error) {
	fi, err := f.Stat()
	if err != nil {
		return fileStat{}, err
	}
	return fromInfo(fi), nil
}

// lstatAt describes the entry name of directory dir without following it.
func lstatAt(dir *os.File, name string) (fileStat, error) {
	fi, err := os.Lstat(filepath.Join(dir.Name(), name))
	if err != nil {
		return fileStat{}, err
	}
	return fromInfo(fi), nil
}

func fromInfo(fi fs.FileInfo) fileStat {
	return fileStat{mode: fi.Mode(), nlink: 1, size: fi.Size(), mtime: fi.ModTime().Unix()}
}
