//go:build linux

package filelock

import (
	"context"
	"errors"
	"os"
	"time"

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

// inotifyWatcher wakes on a close of the file by any process (a holder that
// releases or dies closes its descriptor), on metadata changes (the link
// count dropping) and on the file being deleted or moved.
type inotifyWatcher struct {
	f   *os.File
	buf []byte
}

const watchMask = unix.IN_CLOSE_WRITE | unix.IN_CLOSE_NOWRITE | unix.IN_ATTRIB |
	unix.IN_DELETE_SELF | unix.IN_MOVE_SELF

func newWatcher(path string) (watcher, error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, err
	}
	if _, err := unix.InotifyAddWatch(fd, path, watchMask); err != nil {
		unix.Close(fd)
		return nil, err
	}
	// A non-blocking descriptor handed to os.NewFile joins the runtime's
	// poller, so reads honour deadlines and never pin a thread.
	return &inotifyWatcher{f: os.NewFile(uintptr(fd), "inotify:"+path), buf: make([]byte, 4096)}, nil
}

func (w *inotifyWatcher) wait(ctx context.Context, max time.Duration) {
	stop := context.AfterFunc(ctx, func() { w.f.SetReadDeadline(time.Now()) })
	defer stop()
	w.f.SetReadDeadline(time.Now().Add(max))
	// One read drains every queued event; any event is a reason to retry.
	w.f.Read(w.buf)
}

func (w *inotifyWatcher) close() error { return w.f.Close() }
