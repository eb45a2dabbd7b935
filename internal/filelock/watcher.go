package filelock

import (
	"context"
	"io/fs"
	"time"
)

// A Watcher reports events on a lock file that may mean its lock became
// free or taken: a close of the file by a process that had it open for
// writing (as every holder has; this includes a holder's exit), a write to
// it, or the file being created, removed, renamed or changed. On Linux these
// are kernel events, and every Watcher of a process shares one inotify
// instance. Looking at the lock (opening the file read-only, IsLocked,
// reading it, closing it) causes none of them, so a waiter never wakes
// itself. Where the platform has no such events (everything but Linux), it
// falls back to waking up on a short, growing interval. Spurious wake-ups
// happen; callers look again.
//
// A Watcher follows its path: if the file is replaced, deleted or created,
// or its directory does not exist yet (it then watches the nearest
// ancestor that does), the next Wait moves the watch to what the path names
// now and returns at once, so that the caller looks again.
type Watcher struct {
	w watcher
}

// watcher is the per-platform event source behind Watcher.
type watcher interface {
	// wait reports whether it ended at max with nothing seen: see
	// Watcher.WaitQuiet.
	wait(ctx context.Context, max time.Duration) (quiet bool)
	close() error
}

// Watch starts watching the file at path, which need not exist. The caller
// must Close the Watcher. Watch first, then look at the lock, then Wait: a
// change between the look and the Wait is then not lost.
func Watch(path string) (*Watcher, error) { return watch(path, false) }

// WatchRelease is Watch for a process that waits to take the lock: its
// Watcher does not wake on writes to the file, only on the events that
// can end that wait (a close by a writer, which a release is, and the file
// created, removed, renamed or changed). A holder writes its record right
// before it unlocks and closes: waking on that write made the waiter try
// the lock while the holder was still letting it go, and compete with it
// for the processor, which delayed the handoff. Its quiet waits say
// nothing of writes.
func WatchRelease(path string) (*Watcher, error) { return watch(path, true) }

func watch(path string, releaseOnly bool) (*Watcher, error) {
	w, err := newWatcher(path, releaseOnly)
	if err != nil {
		return nil, &fs.PathError{Op: "watch", Path: path, Err: err}
	}
	return &Watcher{w: w}, nil
}

// Wait blocks until an event arrives, max has passed, or ctx is done,
// whichever comes first. It returns ctx.Err() if ctx is done and nil
// otherwise.
func (w *Watcher) Wait(ctx context.Context, max time.Duration) error {
	_, err := w.WaitQuiet(ctx, max)
	return err
}

// WaitQuiet is Wait that also reports whether the wait was quiet: it
// lasted until max with the watches on what the path names all along,
// from the Wait before it (or Watch) to now, and no event arrived
// meanwhile. After a quiet wait, nothing at the path changed that the
// kernel reported in time: no lock file was created, deleted, replaced,
// written or closed by a writer. An event the kernel queued just as max
// passed may wake the next Wait instead, so a caller may skip a costly
// look after a quiet wait only where a look one wait late does no harm.
// A polling Watcher is never quiet.
func (w *Watcher) WaitQuiet(ctx context.Context, max time.Duration) (quiet bool, err error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	quiet = w.w.wait(ctx, max)
	if err := ctx.Err(); err != nil {
		return false, err
	}
	return quiet, nil
}

// Evented reports whether the Watcher wakes on real file events, rather
// than on a polling interval.
func (w *Watcher) Evented() bool {
	_, polling := w.w.(*pollWatcher)
	return !polling
}

// Close stops watching. It returns at once: it never waits for the kernel
// to retire a watch.
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

func (p *pollWatcher) wait(ctx context.Context, max time.Duration) bool {
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
	return false
}

func (p *pollWatcher) close() error { return nil }
