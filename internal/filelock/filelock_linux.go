//go:build linux

package filelock

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"time"
	"unsafe"

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
// count dropping), on the file being deleted or moved, and on a file of the
// same name being created in, moved into or removed from its directory.
type inotifyWatcher struct {
	f     *os.File
	dirWd int32
	base  string
	buf   []byte
}

const (
	fileMask = unix.IN_CLOSE_WRITE | unix.IN_CLOSE_NOWRITE | unix.IN_ATTRIB |
		unix.IN_DELETE_SELF | unix.IN_MOVE_SELF
	dirMask = unix.IN_CREATE | unix.IN_MOVED_TO | unix.IN_MOVED_FROM | unix.IN_DELETE |
		unix.IN_DELETE_SELF | unix.IN_MOVE_SELF | unix.IN_ONLYDIR
)

func newWatcher(path string) (watcher, error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, err
	}
	dirWd, err := unix.InotifyAddWatch(fd, filepath.Dir(path), dirMask)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	// The file may not exist (yet); the directory watch covers its creation.
	if _, err := unix.InotifyAddWatch(fd, path, fileMask); err != nil && !errors.Is(err, unix.ENOENT) {
		unix.Close(fd)
		return nil, err
	}
	// A non-blocking descriptor handed to os.NewFile joins the runtime's
	// poller, so reads honour deadlines and never pin a thread.
	return &inotifyWatcher{
		f:     os.NewFile(uintptr(fd), "inotify:"+path),
		dirWd: int32(dirWd),
		base:  filepath.Base(path),
		buf:   make([]byte, 64*(unix.SizeofInotifyEvent+unix.NAME_MAX+1)),
	}, nil
}

func (w *inotifyWatcher) wait(ctx context.Context, max time.Duration) {
	// The deadline first: if ctx is already done, AfterFunc runs at once
	// and must not be overridden.
	w.f.SetReadDeadline(time.Now().Add(max))
	stop := context.AfterFunc(ctx, func() { w.f.SetReadDeadline(time.Now()) })
	defer stop()
	for {
		n, err := w.f.Read(w.buf)
		if err != nil || w.relevant(w.buf[:n]) {
			return
		}
	}
}

// relevant reports whether a batch of events holds one about the file:
// any event on the file itself, or a directory event naming it.
func (w *inotifyWatcher) relevant(buf []byte) bool {
	for len(buf) >= unix.SizeofInotifyEvent {
		ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[0]))
		end := unix.SizeofInotifyEvent + int(ev.Len)
		if end > len(buf) {
			return true // cannot happen; be safe and wake
		}
		if ev.Wd != w.dirWd || ev.Mask&(unix.IN_DELETE_SELF|unix.IN_MOVE_SELF|unix.IN_Q_OVERFLOW) != 0 {
			return true
		}
		name := buf[unix.SizeofInotifyEvent:end]
		if i := bytes.IndexByte(name, 0); i >= 0 {
			name = name[:i]
		}
		if string(name) == w.base {
			return true
		}
		buf = buf[end:]
	}
	return false
}

// close hands the descriptor to a goroutine: closing an inotify instance
// waits for the kernel to retire its watches (an RCU grace period, several
// milliseconds), which would otherwise delay every release and handoff.
func (w *inotifyWatcher) close() error {
	go w.f.Close()
	return nil
}
