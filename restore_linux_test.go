package singleinstance_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/singleinstance/singleinstance"
)

// syncBuffer is a log destination safe for the watchdog's goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRestoreWithoutDescriptionSaysSo deletes the lock file and puts a
// directory where the .info file was: the holder restores its lock but
// cannot describe itself. Its log must say exactly that, not that it still
// holds the old file, and the name must stay held.
func TestRestoreWithoutDescriptionSaysSo(t *testing.T) {
	t.Parallel()
	dir, opt := lockDir(t)
	var logs syncBuffer
	inst, err := singleinstance.New(testName, opt, singleinstance.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Release()
	lock, info := filepath.Join(dir, testName+".lock"), filepath.Join(dir, testName+".info")
	// The holder rewrites a deleted .info at once; a directory in its
	// place cannot be renamed over. Win that race within a few tries.
	for try := 0; ; try++ {
		os.Remove(info)
		err := os.Mkdir(info, 0o700)
		if err == nil {
			break
		}
		if try == 1000 {
			t.Fatalf("cannot put a directory in place of the .info file: %v", err)
		}
	}
	if err := os.Remove(lock); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(logs.String(), "lock file restored") {
		if time.Now().After(deadline) {
			t.Fatalf("no restore logged within 30s; log:\n%s", logs.String())
		}
		time.Sleep(time.Millisecond) // polling the log: no event to wait on
	}
	if strings.Contains(logs.String(), "still holding the old one") {
		t.Fatalf("log claims the old file is still held after the switch:\n%s", logs.String())
	}
	if err := inst.Err(); err != nil {
		t.Fatalf("Err = %v after a restore", err)
	}
	if _, err := singleinstance.New(testName, opt); err == nil {
		t.Fatal("a second instance started after the restore")
	}
	running, err := singleinstance.CheckRunning(testName, opt)
	if err != nil || !running {
		t.Fatalf("CheckRunning = %v, %v; want true", running, err)
	}
}

// TestRestoreBlockedByLinkedFileDoesNotSpin: the lock path is made a hard
// link to another name's lock file, held by its own holder. The holder of
// this name cannot use that file (it has two links) and keeps its old one;
// its own tries open the file for writing, which wakes its watch, so it
// must pause between tries and warn once, not spin and flood the log.
// Once the link is removed it restores its lock file.
func TestRestoreBlockedByLinkedFileDoesNotSpin(t *testing.T) {
	t.Parallel()
	dir, opt := lockDir(t)
	other, err := singleinstance.New("other", opt)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Release()
	tries := &restoreTries{restored: make(chan struct{}, 1)}
	inst, err := singleinstance.New(testName, opt, singleinstance.WithLogger(slog.New(tries)))
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Release()
	lock := filepath.Join(dir, testName+".lock")
	if err := os.Link(filepath.Join(dir, "other.lock"), lock+".tmp"); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(lock+".tmp", lock); err != nil {
		t.Fatal(err)
	}
	// Four tries, as they come: spinning, they would come microseconds
	// apart; pausing, a fifth of a second.
	at := tries.await(t, 4)
	for i := 1; i < len(at); i++ {
		if gap := at[i].Sub(at[i-1]); gap < 100*time.Millisecond {
			t.Errorf("tries %d and %d to restore came %v apart; want a pause between them", i, i+1, gap)
		}
	}
	if warnings := tries.warnings(); warnings != 1 {
		t.Errorf("%d warnings for one blocked restore; want 1, the rest at debug level", warnings)
	}
	if err := os.Remove(lock); err != nil {
		t.Fatal(err)
	}
	select {
	case <-tries.restored:
	case <-time.After(30 * time.Second):
		t.Fatal("the lock file was not restored once the link was removed")
	}
	if err := inst.Err(); err != nil {
		t.Errorf("Err() = %v after the restore; want nil", err)
	}
}

// restoreTries is a slog handler that records when a holder failed to
// restore its lock file, at which level, and signals its restore.
type restoreTries struct {
	mu       sync.Mutex
	at       []time.Time
	levels   []slog.Level
	changed  chan struct{}
	restored chan struct{}
}

func (h *restoreTries) Enabled(context.Context, slog.Level) bool { return true }
func (h *restoreTries) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case strings.Contains(r.Message, "cannot be restored yet"):
		h.at, h.levels = append(h.at, r.Time), append(h.levels, r.Level)
		if h.changed != nil {
			close(h.changed)
			h.changed = nil
		}
	case strings.Contains(r.Message, "protection restored"):
		select {
		case h.restored <- struct{}{}:
		default:
		}
	}
	return nil
}
func (h *restoreTries) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *restoreTries) WithGroup(string) slog.Handler      { return h }

// await returns the times of the first n failed tries, once there are.
func (h *restoreTries) await(t *testing.T, n int) []time.Time {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		h.mu.Lock()
		if len(h.at) >= n {
			at := slices.Clone(h.at[:n])
			h.mu.Unlock()
			return at
		}
		changed := make(chan struct{})
		h.changed = changed
		h.mu.Unlock()
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("fewer than %d tries to restore within 30s", n)
		}
	}
}

// warnings counts the failed tries logged as warnings.
func (h *restoreTries) warnings() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, l := range h.levels {
		if l >= slog.LevelWarn {
			n++
		}
	}
	return n
}

// TestRestoreFollowsLockDirLinkAtOnce: the lock directory is reached
// through a symbolic link (a deploy's "current"), re-pointed to another
// directory while the name is held. The path then names another lock
// file, with no event on the held file or its directory: the holder must
// see the link's own change and move its lock to the new path at once,
// not at its next periodic check (an hour here), so that the window in
// which a newcomer given the new directory's real path finds it free is
// as short as the events make it.
func TestRestoreFollowsLockDirLinkAtOnce(t *testing.T) {
	t.Parallel()
	base, current, repoint := linkedLockDir(t)
	tries := &restoreTries{restored: make(chan struct{}, 1)}
	opt := singleinstance.WithLockDir(current)
	inst, err := singleinstance.New(testName, opt, singleinstance.WithCheckInterval(time.Hour),
		singleinstance.WithLogger(slog.New(tries)))
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Release()
	awaitRestore := func(what string) {
		t.Helper()
		select {
		case <-tries.restored:
		case <-time.After(30 * time.Second):
			t.Fatalf("the holder did not move its lock within 30s after %s", what)
		}
	}
	// A first restore, seen by the holder's first check, shows that its
	// watch is in place.
	if err := os.Remove(filepath.Join(base, "rel1", testName+".lock")); err != nil {
		t.Fatal(err)
	}
	awaitRestore("its lock file was deleted")

	repoint("rel2")
	awaitRestore("the lock directory link was re-pointed")
	if err := inst.Err(); err != nil {
		t.Errorf("Err() = %v after the move; want nil", err)
	}
	real2 := singleinstance.WithLockDir(filepath.Join(base, "rel2"))
	if running, err := singleinstance.CheckRunning(testName, real2); !running || err != nil {
		t.Errorf("CheckRunning through the new directory's real path = %v, %v; want true, nil", running, err)
	}
}
