package local

import (
	"context"
	"time"

	"github.com/singleinstance/singleinstance/internal/filelock"
)

// waitEventBound bounds each wait for file events. On Linux the kernel
// reports each change to a local lock file or its directory (or, while that
// does not exist, the directories above it), and the looks at the lock
// cause none, so a waiter sleeps until the change. The bound covers what
// no event reports, such as a holder on another machine sharing a network
// file system, or the exit of a holder whose lock file was deleted.
// Elsewhere the Watcher polls, more often than this.
const waitEventBound = 500 * time.Millisecond

// waitPoll is how often Wait looks when the lock file cannot be watched.
const waitPoll = 100 * time.Millisecond

// Wait returns once name is held (held true) or free, or with ctx's error
// once ctx is done. It takes nothing.
func (s *Store) Wait(ctx context.Context, name string, held bool) error {
	return s.wait(ctx, name, held, watchEvents)
}

// eventSource is what Wait needs of a filelock.Watcher.
type eventSource interface {
	WaitQuiet(ctx context.Context, max time.Duration) (quiet bool, err error)
	Close() error
}

// watchEvents starts a filelock.Watcher on path.
func watchEvents(path string) (eventSource, error) {
	w, err := filelock.Watch(path)
	if err != nil {
		return nil, err
	}
	return w, nil
}

// wait is Wait with the events of the lock path from watch.
func (s *Store) wait(ctx context.Context, name string, held bool, watch func(path string) (eventSource, error)) error {
	var w eventSource
	defer func() {
		if w != nil {
			w.Close()
		}
	}()
	var mode probeMode
	var orphans []int // holders of a deleted lock file, whose exit ends a wait
	p := pathsFor(s.dir, name)
	for {
		// The holders of a deleted lock file found last time, if they
		// still hold, spare the look through every process.
		running := false
		if orphans = stillHolding(p, orphans); len(orphans) > 0 {
			running = true
		} else {
			r, err := s.probe(name, mode)
			if err != nil {
				return err
			}
			running, orphans = r.state.Running, r.deleted
		}
		if running == held {
			return nil
		}
		if w == nil {
			// Watch, then look again, so that no change between the two
			// goes unseen.
			var err error
			if w, err = watch(s.LockPath(name)); err == nil {
				mode = 0
				continue
			}
			w = nil
		}
		var quiet bool
		var err error
		if w != nil {
			quiet, err = waitEvent(ctx, w, waitEventBound, orphans)
		} else {
			err = sleepCtx(ctx, waitPoll)
		}
		if err != nil {
			return err
		}
		// A deleted lock file of the name is held only by a process that
		// held it at its path, or got it from one that did: it was
		// created (or moved) to the path and then deleted (or moved away),
		// each an event on the lock directory. After a quiet wait, the
		// holders of one are those the last search found, and it found
		// none, since the name was free: the search, which reads every
		// process's descriptors, need not run again until an event. This
		// serves a wait for held only (one for free ends when the name is
		// free), where a holder seen one wait late does no harm.
		mode = 0
		if quiet && !running {
			mode = noDeletedSearch
		}
	}
}
