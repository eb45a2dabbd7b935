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
	"context"
	"errors"
	"io/fs"
	"os"
	"time"
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

// A Watcher reports events on a lock file that may mean its lock became free:
// a close of the file by any process (which includes a holder's exit), or the
// file being removed, renamed or changed. Where the platform has no such
// events (everything but Linux), it falls back to waking up on a short,
// growing interval. Spurious wake-ups happen; callers retry TryLock.
type Watcher struct {
	w watcher
}

// Watch starts watching the file at path. The caller must Close the Watcher.
func Watch(path string) (*Watcher, error) {
	w, err := newWatcher(path)
	if err != nil {
		return nil, &fs.PathError{Op: "watch", Path: path, Err: err}
	}
	return &Watcher{w: w}, nil
}

// Wait blocks until an event arrives, max has passed, or ctx is done,
// whichever comes first. It returns ctx.Err() if ctx is done and nil
// otherwise.
func (w *Watcher) Wait(ctx context.Context, max time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	w.w.wait(ctx, max)
	return ctx.Err()
}

// Evented reports whether the Watcher wakes on real file events, rather
// than on a polling interval.
func (w *Watcher) Evented() bool {
	_, polling := w.w.(*pollWatcher)
	return !polling
}

// Close stops watching. It returns at once; on Linux the kernel's watch is
// retired in the background, which takes a few milliseconds.
func (w *Watcher) Close() error { return w.w.close() }

// pollWatcher wakes up on a growing interval; it is the fallback where no
// file events exist.
type pollWatcher struct {
	next time.Duration
}

const (
	pollFirst = time.Millisecond
	pollMax   = 25 * time.Millisecond
)

func (p *pollWatcher) wait(ctx context.Context, max time.Duration) {
	if p.next == 0 {
		p.next = pollFirst
	}
	d := min(p.next, max)
	p.next = min(2*p.next, pollMax)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

func (p *pollWatcher) close() error { return nil }
