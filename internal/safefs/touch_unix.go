//go:build unix && !aix

package safefs

import (
	"io/fs"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

func touch(f *os.File) error {
	conn, err := f.SyscallConn()
	if err != nil {
		return err
	}
	now := unix.NsecToTimeval(time.Now().UnixNano())
	var opErr error
	if err := conn.Control(func(fd uintptr) {
		opErr = unix.Futimes(int(fd), []unix.Timeval{now, now})
	}); err != nil {
		return err
	}
	if opErr != nil {
		return &fs.PathError{Op: "touch", Path: f.Name(), Err: opErr}
	}
	return nil
}
