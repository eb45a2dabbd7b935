//go:build unix

package safefs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// O_NOFOLLOW makes opening a symbolic link fail; O_NONBLOCK keeps opening a
// FIFO from hanging (it is then refused as not regular).
const openFlags = syscall.O_NOFOLLOW | syscall.O_NONBLOCK | syscall.O_CLOEXEC

func explainOpen(path string, err error) error {
	// O_NOFOLLOW on a symbolic link fails with ELOOP (EMLINK on FreeBSD,
	// EFTYPE on NetBSD).
	if errors.Is(err, syscall.ELOOP) || errors.Is(err, syscall.EMLINK) {
		return &fs.PathError{Op: "open", Path: path, Err: fmt.Errorf("%w: symbolic link", ErrNotRegular)}
	}
	if errors.Is(err, syscall.EISDIR) || errors.Is(err, syscall.ENXIO) {
		return &fs.PathError{Op: "open", Path: path, Err: fmt.Errorf("%w: %w", ErrNotRegular, err)}
	}
	return err
}

func checkRegularOwned(f *os.File) (fs.FileInfo, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, &fs.PathError{Op: "open", Path: f.Name(), Err: fmt.Errorf("%w: %s", ErrNotRegular, fi.Mode().Type())}
	}
	if uid := owner(fi); uid != os.Geteuid() {
		return nil, &fs.PathError{Op: "open", Path: f.Name(), Err: fmt.Errorf("%w: uid %d, not %d", ErrForeignOwner, uid, os.Geteuid())}
	}
	// A hard link planted at the lock path would make the lock record
	// overwrite the start of some other file.
	if n := linkCount(fi); n > 1 {
		return nil, &fs.PathError{Op: "open", Path: f.Name(), Err: fmt.Errorf("%w: %d", ErrHardLinked, n)}
	}
	return fi, nil
}

func checkPrivateDir(path string, fix bool) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return err
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return &fs.PathError{Op: "check", Path: path, Err: fmt.Errorf("%w: symbolic link", ErrInsecureDir)}
	}
	// Ownership first: whatever another user put at a private path, it was
	// planted, and the directory is not private.
	if uid := owner(fi); uid != os.Geteuid() {
		return &fs.PathError{Op: "check", Path: path, Err: fmt.Errorf("%w: %w: uid %d, not %d", ErrInsecureDir, ErrForeignOwner, uid, os.Geteuid())}
	}
	if !fi.IsDir() {
		return &fs.PathError{Op: "check", Path: path, Err: syscall.ENOTDIR}
	}
	if fi.Mode().Perm()&0o077 != 0 {
		if !fix {
			return &fs.PathError{Op: "check", Path: path, Err: fmt.Errorf("%w: mode %v", ErrInsecureDir, fi.Mode().Perm())}
		}
		if err := os.Chmod(path, 0o700); err != nil {
			return &fs.PathError{Op: "check", Path: path, Err: fmt.Errorf("%w: mode %v: %w", ErrInsecureDir, fi.Mode().Perm(), err)}
		}
	}
	return nil
}

func owner(fi fs.FileInfo) int {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid)
	}
	return -1
}

func linkCount(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Nlink)
	}
	return 1
}

func fileID(fi fs.FileInfo) (dev, ino uint64) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Dev), uint64(st.Ino)
	}
	return 0, 0
}

// rename is os.Rename without its look at newpath first (to refuse a
// directory there, which rename(2) refuses by itself on Unix).
func rename(oldpath, newpath string) error {
	for {
		err := syscall.Rename(oldpath, newpath)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return &os.LinkError{Op: "rename", Old: oldpath, New: newpath, Err: err}
		}
		return nil
	}
}
