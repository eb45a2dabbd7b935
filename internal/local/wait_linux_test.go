package local

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/singleinstance/singleinstance/internal/filelock"
)

// scriptedEvents is an eventSource whose waits end as its script says:
// each runs its step and returns the step's quiet.
type scriptedEvents struct {
	steps []func() (quiet bool)
	waits int
}

var errScriptEnded = errors.New("the script of waits ended")

func (e *scriptedEvents) WaitQuiet(context.Context, time.Duration) (bool, error) {
	if e.waits == len(e.steps) {
		return false, errScriptEnded
	}
	step := e.steps[e.waits]
	e.waits++
	return step(), nil
}

func (e *scriptedEvents) Close() error { return nil }

// TestWaitSearchesDeletedAfterEventsOnly: a wait for held looks for the
// holders of a deleted lock file on its first look and after every wait
// that an event ended, and skips that search after a quiet wait. The
// holder here locks the file at the lock path and deletes it, as a tree
// member that keeps the lock of a dead wrapper does; the script says the
// wait it happened in was quiet (which a real Watcher would not), and the
// wait only sees the holder after the next, evented one.
func TestWaitSearchesDeletedAfterEventsOnly(t *testing.T) {
	t.Parallel()
	s, err := Open(Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(s.Dir(), 0o700); err != nil {
		t.Fatal(err)
	}
	holdDeleted := func() bool {
		f, err := os.OpenFile(s.LockPath("app"), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		if err := filelock.TryLock(f); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(f.Name()); err != nil {
			t.Fatal(err)
		}
		return true
	}
	quiet := func() bool { return true }
	evented := func() bool { return false }
	events := &scriptedEvents{steps: []func() bool{quiet, holdDeleted, quiet, evented, quiet}}
	watch := func(string) (eventSource, error) { return events, nil }
	if err := s.wait(t.Context(), "app", true, watch); err != nil {
		t.Fatalf("wait for held: %v after %d waits", err, events.waits)
	}
	if events.waits != 4 {
		t.Fatalf("wait for held saw the deleted lock's holder after %d waits, want 4 (after the first evented one)", events.waits)
	}
	if running, err := s.Running("app"); err != nil || !running {
		t.Fatalf("Running with a deleted lock file held: %v, %v; want true", running, err)
	}
}
