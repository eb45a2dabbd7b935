// Package safefs opens, reads and writes the files of a lock directory
// without following symbolic links, without blocking on special files, and
// with bounded reads, so that a hostile or damaged directory can make an
// operation fail but never redirect a write or hang a reader.
package safefs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
)

// ErrNotRegular means a path that should be a regular file is a directory,
// a symbolic link, a FIFO, a device or a socket.
var ErrNotRegular = errors.New("not a regular file")

// ErrHardLinked means a lock file has more than one hard link: another
// name reaches it too.
var ErrHardLinked = errors.New("has more than one hard link")

// ErrTooLarge means a file is larger than the reader's bound.
var ErrTooLarge = errors.New("file too large")

// ErrForeignOwner means a file or directory belongs to another user.
var ErrForeignOwner = errors.New("owned by another user")

// ErrInsecureDir means a private directory can be written or entered by
// other users, or is a symbolic link.
var ErrInsecureDir = errors.New("directory is not private")

// OpenLockFile opens (creating it with perm if missing) the lock file at path
// for reading and writing. It refuses a symbolic link, anything that is not
// a regular file, and, on Unix, a file owned by another user or with more
// than one hard link. It also returns what it checked: the open file's
// FileInfo, whose device and inode stay the file's for as long as it is
// open (its link count and mode may change).
func OpenLockFile(path string, perm fs.FileMode) (*os.File, fs.FileInfo, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|openFlags, perm)
	if err != nil {
		return nil, nil, explainOpen(path, err)
	}
	fi, err := checkRegularOwned(f)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, fi, nil
}

// OpenExisting opens the file at path read-only, without creating it and
// without following a symbolic link. It refuses anything but a regular file.
// It also returns the open file's FileInfo, which it checked (see
// OpenLockFile).
func OpenExisting(path string) (*os.File, fs.FileInfo, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|openFlags, 0)
	if err != nil {
		return nil, nil, explainOpen(path, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, &fs.PathError{Op: "open", Path: path, Err: ErrNotRegular}
	}
	return f, fi, nil
}

// ReadBounded reads the regular file at path, failing with ErrTooLarge if it
// holds more than max bytes. It never reads more than max+1 bytes.
func ReadBounded(path string, max int64) ([]byte, error) {
	f, fi, err := OpenExisting(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi.Size() > max {
		return nil, &fs.PathError{Op: "read", Path: path, Err: fmt.Errorf("%w: %d bytes, more than %d", ErrTooLarge, fi.Size(), max)}
	}
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: path, Err: err}
	}
	if int64(len(b)) > max {
		return nil, &fs.PathError{Op: "read", Path: path, Err: fmt.Errorf("%w: more than %d bytes", ErrTooLarge, max)}
	}
	return b, nil
}

// WriteAtomic replaces the file at path with data, so that readers see the
// old contents or the new, never a mix. The data goes to a new file with a
// random name created exclusively in the same directory, which is then
// renamed over path; a symbolic link at path is replaced, not followed.
//
// The name only has to differ from the other writers' names: O_EXCL makes
// the open fail if anything, a symbolic link included, is there already,
// so a name someone planted ahead can make the write fail but never
// redirect it. math/rand/v2's generator, seeded by the runtime from the
// system's randomness, is enough for that, and unlike crypto/rand it does
// not link the crypto packages into every program that uses this one.
//
// It returns the written file's information, taken from its descriptor:
// the file written, whatever path names by the time the caller looks.
func WriteAtomic(path string, data []byte, perm fs.FileMode) (fs.FileInfo, error) {
	dir, base := filepath.Split(path)
	tmp := filepath.Join(dir, fmt.Sprintf(".%s.tmp-%016x", base, rand.Uint64()))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL|openFlags, perm)
	if err != nil {
		return nil, err
	}
	_, werr := f.Write(data)
	fi, serr := f.Stat()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		os.Remove(tmp)
		return nil, err
	}
	if err := rename(tmp, path); err != nil {
		os.Remove(tmp)
		if fi, lerr := os.Lstat(path); lerr == nil && fi.IsDir() {
			return nil, &fs.PathError{Op: "write", Path: path, Err: fmt.Errorf("%w: directory: %w", ErrNotRegular, err)}
		}
		return nil, err
	}
	return fi, nil
}

// RemoveIfSame removes path only if it still names the file described by
// fi, so that a file written by someone else in the meantime survives. The
// check and the removal are not atomic; callers use it only for files that
// nobody else writes while they hold their lock. A nil fi (nothing was
// written) removes nothing; a path gone already, before or during the
// removal, is not an error.
func RemoveIfSame(path string, fi fs.FileInfo) error {
	if fi == nil {
		return nil // nothing was written
	}
	cur, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !os.SameFile(cur, fi) {
		return nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err // gone meanwhile is as good as removed
	}
	return nil
}

// SameFile reports whether path still names the file open as f and that
// file still has a name (it was not deleted or replaced).
func SameFile(f *os.File, path string) (bool, error) {
	fi, err := f.Stat()
	if err != nil {
		return false, err
	}
	cur, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return os.SameFile(fi, cur) && linkCount(fi) > 0, nil
}

// SameFileID is SameFile for an f known to be the file dev, ino (see
// FileID, of what opening it found): one look, at path only. An open
// file keeps its identity, and an inode a process holds open is never
// given to another file, so path naming that identity is path naming f,
// which therefore still has a name. Where identities are unknown (ino 0)
// it is SameFile.
func SameFileID(f *os.File, dev, ino uint64, path string) (bool, error) {
	if ino == 0 {
		return SameFile(f, path)
	}
	cur, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	curDev, curIno := fileID(cur)
	return curDev == dev && curIno == ino, nil
}

// LinkCount returns the number of hard links to fi; 1 where the platform
// does not tell.
func LinkCount(fi fs.FileInfo) uint64 { return linkCount(fi) }

// FileID returns the device and inode numbers of fi (on Windows, the
// volume serial number and file index, when known).
func FileID(fi fs.FileInfo) (dev, ino uint64) { return fileID(fi) }

// EnsurePrivateDir makes sure path is a directory that only the calling user
// can enter or write, creating it with mode 0700 if missing. A directory
// owned by another user, a symbolic link, or a directory that other users can
// write is refused with ErrForeignOwner or ErrInsecureDir; a directory of the
// caller's own with looser permissions is tightened to 0700.
func EnsurePrivateDir(path string) error {
	// Usually it exists: one look, and no mkdir that fails.
	if err := checkPrivateDir(path, true); !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.Mkdir(path, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return checkPrivateDir(path, true)
}

// CheckPrivateDir checks, without creating or changing anything, what
// EnsurePrivateDir would: that path is a directory of the calling user's own
// that no other user can write, and not a symbolic link.
func CheckPrivateDir(path string) error { return checkPrivateDir(path, false) }

// EnsureDir makes sure path is a directory, creating it and its parents with
// mode 0700 if missing, and returns what it is. Symbolic links to
// directories are accepted: the path was chosen by the user.
func EnsureDir(path string) (fs.FileInfo, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(path, 0o700); err != nil {
			return nil, err
		}
		fi, err = os.Stat(path)
	}
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, &fs.PathError{Op: "mkdir", Path: path, Err: syscall.ENOTDIR}
	}
	return fi, nil
}

// Touch sets the modification and access times of the file open as f to
// now, so that age-based temporary file cleaners leave it alone.
func Touch(f *os.File) error { return touch(f) }

// NetworkFS reports whether path is on a network or user-space file system
// (NFS, SMB/CIFS, FUSE and the like), where file locks may silently not
// work, and names the kind.
func NetworkFS(path string) (kind string, ok bool, err error) { return networkFS(path) }
