// Package filelock takes, releases and queries exclusive whole-file locks
// that belong to an open file description, not to a process.
//
// A lock taken through one *os.File is released when Unlock is called on it
// or when the last descriptor sharing that open file description is closed,
// including by the kernel when the process dies. Locks are advisory: they bind
// only programs that use this package (or the same kernel primitive).
//
// The primitive per platform:
//
//   - Linux: open file description locks (F_OFD_SETLK), which can be queried
//     without being taken (F_OFD_GETLK).
//   - macOS and the BSDs: flock(2); queried with F_GETLK, which sees flock
//     locks on those kernels.
//   - Windows: LockFileEx on one byte far beyond any data, so the file's
//     contents stay readable by other processes.
//   - Elsewhere every call fails with an error wrapping errors.ErrUnsupported.
package filelock

import (
	"errors"
	"io/fs"
	"os"
)

// ErrLocked is returned (wrapped in an *fs.PathError) by TryLock when another
// open file description holds the lock.
var ErrLocked = errors.New("locked by another open file")

// TryLock takes an exclusive lock on f without waiting. If another open file
// description holds the lock, it returns an *fs.PathError wrapping ErrLocked.
// Taking a lock that f already holds succeeds.
func TryLock(f *os.File) error {
	if err := tryLock(f); err != nil {
		return &fs.PathError{Op: "trylock", Path: f.Name(), Err: err}
	}
	return nil
}

// Unlock releases the lock held through f. Closing f (and every descriptor
// duplicated from it) releases it too.
func Unlock(f *os.File) error {
	if err := unlock(f); err != nil {
		return &fs.PathError{Op: "unlock", Path: f.Name(), Err: err}
	}
	return nil
}

// IsLocked reports whether an open file description other than f's holds a
// lock on f's file. On Linux, macOS and the BSDs it takes no lock and cannot
// disturb a concurrent TryLock. On Windows, which has no query, it takes and
// at once releases a shared lock: a TryLock that runs during that instant
// fails with ErrLocked.
func IsLocked(f *os.File) (bool, error) {
	locked, err := isLocked(f)
	if err != nil {
		return false, &fs.PathError{Op: "querylock", Path: f.Name(), Err: err}
	}
	return locked, nil
}
