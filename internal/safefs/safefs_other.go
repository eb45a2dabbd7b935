//go:build !unix && !windows

package safefs

import (
	"errors"
	"io/fs"
	"os"
)

// Platforms that are neither Unix nor Windows: lock files cannot be checked
// safely, so every check fails.

const openFlags = 0

func explainOpen(path string, err error) error { return err }

func checkRegularOwned(f *os.File) (fs.FileInfo, error) {
	return nil, &fs.PathError{Op: "open", Path: f.Name(), Err: errors.ErrUnsupported}
}

func checkPrivateDir(path string, fix bool) error {
	return &fs.PathError{Op: "check", Path: path, Err: errors.ErrUnsupported}
}

func owner(fi fs.FileInfo) int { return -1 }

func linkCount(fi fs.FileInfo) uint64 { return 1 }

func fileID(fi fs.FileInfo) (dev, ino uint64) { return 0, 0 }

func touch(f *os.File) error { return errors.ErrUnsupported }

func rename(oldpath, newpath string) error { return os.Rename(oldpath, newpath) }
