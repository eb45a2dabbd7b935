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
	var w *filelock.Watcher
	defer func() {
		if w != nil {
			w.Close()
		}
	}()
	for {
		running, err := s.Running(name)
		if err != nil {
			return err
		}
		if running == held {
			return nil
		}
		if w == nil {
			// Watch, then look again, so that no change between the two
			// goes unseen.
			if w, err = filelock.Watch(s.LockPath(name)); err == nil {
				continue
			}
			w = nil
		}
		if w != nil {
			err = w.Wait(ctx, waitEventBound)
		} else {
			err = sleepCtx(ctx, waitPoll)
		}
		if err != nil {
			return err
		}
	}
}
