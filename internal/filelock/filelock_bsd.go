//go:build darwin || dragonfly || freebsd || netbsd || openbsd

package filelock

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// macOS and the BSDs keep flock(2) locks in the same per-file list as fcntl
// locks, so F_GETLK reports a flock lock held through another open file
// without taking anything.

func control(f *os.File, op func(fd uintptr) error) error {
	conn, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var opErr error
	if err := conn.Control(func(fd uintptr) {
		for {
			opErr = op(fd)
			if opErr != unix.EINTR {
				return
			}
		}
	}); err != nil {
		return err
	}
	return opErr
}

func tryLock(f *os.File) error {
	err := control(f, func(fd uintptr) error { return unix.Flock(int(fd), unix.LOCK_EX|unix.LOCK_NB) })
	if errors.Is(err, unix.EWOULDBLOCK) {
		return ErrLocked
	}
	return err
}

func unlock(f *os.File) error {
	return control(f, func(fd uintptr) error { return unix.Flock(int(fd), unix.LOCK_UN) })
}

func isLocked(f *os.File) (bool, error) {
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0}
	err := control(f, func(fd uintptr) error { return unix.FcntlFlock(fd, unix.F_GETLK, &lk) })
	if err != nil {
		return false, err
	}
	return lk.Type != unix.F_UNLCK, nil
}

func newWatcher(path string, releaseOnly bool) (watcher, error) { return &pollWatcher{}, nil }
