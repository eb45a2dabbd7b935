package local

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/singleinstance/singleinstance/internal/safefs"
)

// TestDeletedBeforeEventsStartIsRestored deletes every file of a holder
// that holds the name token the moment it has the lock, before it watches
// for file events (see eventsAfter), with a check interval far beyond the
// test. The name must stay held meanwhile, the files must come back
// without waiting for the interval, and a second deletion must then be
// seen through the events.
func TestDeletedBeforeEventsStartIsRestored(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l, err := acquireWith(Config{Dir: dir, CheckInterval: time.Hour}, "early")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	if l.token == nil {
		t.Fatal("no name token held; this test is about a holder with one")
	}
	for round := 1; round <= 2; round++ {
		for _, p := range []string{l.paths.lock, l.paths.info, l.paths.pid} {
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
		}
		if nl, err := acquireWith(Config{Dir: dir}, "early"); !errors.Is(err, ErrAlreadyRunning) {
			if nl != nil {
				nl.Release()
			}
			t.Fatalf("round %d: a newcomer with every file deleted got %v, want ErrAlreadyRunning", round, err)
		}
		awaitRestored(t, l)
	}
}

// awaitRestored waits until l holds the file at its lock path and has
// described itself again.
func awaitRestored(t *testing.T, l *Lock) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		l.mu.Lock()
		same, _ := safefs.SameFile(l.f, l.paths.lock)
		described := stillSame(l.paths.info, l.infoFile) && stillSame(l.paths.pid, l.pidFile)
		l.mu.Unlock()
		if same && described {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("files not restored within 20s (lock file held: %v, described: %v)", same, described)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestReleasedReplacementKeepsSearching: a holder passes its lock to a
// process outside it (here a sleeper given the locked descriptor, as a
// command could pass it over a socket), its lock file is deleted and the
// holder restores it, then lets go normally. The process it passed the
// lock to still holds the deleted file: a newcomer must find it, though
// the restored file is free and its holder let go cleanly.
func TestReleasedReplacementKeepsSearching(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l, err := acquireWith(Config{Dir: dir, CheckInterval: time.Hour}, "passed")
	if err != nil {
		t.Fatal(err)
	}
	l.mu.Lock()
	holdWith(t, l.f)
	l.mu.Unlock()
	if err := os.Remove(l.paths.lock); err != nil {
		t.Fatal(err)
	}
	awaitRestored(t, l)
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	nl, err := acquireWith(Config{Dir: dir}, "passed")
	if !errors.Is(err, ErrAlreadyRunning) {
		if nl != nil {
			nl.Release()
		}
		t.Fatalf("a newcomer while another process holds the replaced lock file got %v, want ErrAlreadyRunning", err)
	}
	if running, err := runningIn(dir, "passed"); err != nil || !running {
		t.Errorf("Running = %v, %v; want true", running, err)
	}
}
