//go:build linux

package filelock

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// Linux uses open file description locks: like flock(2) they belong to the
// open file description and die with it, and unlike flock(2) they can be
// queried without being taken (F_OFD_GETLK).

func ofdLock(f *os.File, cmd int, typ int16) (*unix.Flock_t, error) {
	lk := &unix.Flock_t{Type: typ, Whence: 0, Start: 0, Len: 0}
	conn, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	var opErr error
	if err := conn.Control(func(fd uintptr) {
		for {
			opErr = unix.FcntlFlock(fd, cmd, lk)
			if opErr != unix.EINTR {
				return
			}
		}
	}); err != nil {
		return nil, err
	}
	return lk, opErr
}

func tryLock(f *os.File) error {
	_, err := ofdLock(f, unix.F_OFD_SETLK, unix.F_WRLCK)
	if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EACCES) {
		return ErrLocked
	}
	return err
}

func unlock(f *os.File) error {
	_, err := ofdLock(f, unix.F_OFD_SETLK, unix.F_UNLCK)
	return err
}

func isLocked(f *os.File) (bool, error) {
	lk, err := ofdLock(f, unix.F_OFD_GETLK, unix.F_WRLCK)
	if err != nil {
		return false, err
	}
	return lk.Type != unix.F_UNLCK, nil
}
