//go:build windows

package filelock

import (
	"errors"
	"os"

	"golang.org/x/sys/windows"
)

// Windows byte-range locks are mandatory: a locked byte cannot be read by
// anyone else. The lock therefore covers one byte far beyond any data the
// file holds, so status readers can still read the file's contents.
const (
	lockOffsetLow  = 0
	lockOffsetHigh = 0x7fff0000
)

func lockFileEx(f *os.File, flags uint32) error {
	conn, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var opErr error
	if err := conn.Control(func(fd uintptr) {
		ol := &windows.Overlapped{Offset: lockOffsetLow, OffsetHigh: lockOffsetHigh}
		opErr = windows.LockFileEx(windows.Handle(fd), flags, 0, 1, 0, ol)
	}); err != nil {
		return err
	}
	return opErr
}

func unlockFileEx(f *os.File) error {
	conn, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var opErr error
	if err := conn.Control(func(fd uintptr) {
		ol := &windows.Overlapped{Offset: lockOffsetLow, OffsetHigh: lockOffsetHigh}
		opErr = windows.UnlockFileEx(windows.Handle(fd), 0, 1, 0, ol)
	}); err != nil {
		return err
	}
	return opErr
}

func tryLock(f *os.File) error {
	err := lockFileEx(f, windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY)
	if errors.Is(err, windows.ERROR_LOCK_VIOLATION) || errors.Is(err, windows.ERROR_IO_PENDING) {
		return ErrLocked
	}
	return err
}

func unlock(f *os.File) error { return unlockFileEx(f) }

// isLocked has no query to use on Windows: it takes a shared lock on the same
// byte and drops it at once.
func isLocked(f *os.File) (bool, error) {
	err := lockFileEx(f, windows.LOCKFILE_FAIL_IMMEDIATELY)
	if errors.Is(err, windows.ERROR_LOCK_VIOLATION) || errors.Is(err, windows.ERROR_IO_PENDING) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	return false, unlockFileEx(f)
}

func newWatcher(path string, releaseOnly bool) (watcher, error) { return &pollWatcher{}, nil }
