//go:build unix

package local

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/singleinstance/singleinstance/internal/filelock"
)

// TestRestoreFindsItsOwnFilePutBack: the holder's check saw its lock file
// gone (renamed away), and by the time its restore opens the lock path the
// file is back (renamed straight back). The file it opens is its own
// locked one: the restore must keep it, not try to lock it through a new
// open (which its own lock refuses) and declare the lock lost.
func TestRestoreFindsItsOwnFilePutBack(t *testing.T) {
	t.Parallel()
	dir, l := holdApp(t)
	away := filepath.Join(t.TempDir(), "app.lock")
	if err := os.Rename(l.paths.lock, away); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(away, l.paths.lock); err != nil {
		t.Fatal(err)
	}
	l.mu.Lock()
	before := l.fIno
	err := l.restore()
	after, lost := l.fIno, l.lostErr
	l.mu.Unlock()
	if err != nil || lost != nil {
		t.Fatalf("restore with its own file back at the path = %v (lost: %v); want nothing to do", err, lost)
	}
	if after != before {
		t.Errorf("restore moved the lock from inode %d to %d; want it kept on its own file", before, after)
	}
	if running, err := runningIn(dir, "app"); !running || err != nil {
		t.Errorf("runningIn = %v, %v after the restore; want true", running, err)
	}
}

// TestRestoreWaitsOutAProberOfAStaleFile: the file put in place of the
// holder's lock file is an old lock file whose record still says "held",
// with an older token (a tree that inherited it and is gone, a crash), and
// a newcomer has it locked for a moment (it looks for an orphaned holder,
// or finds this holder by its name token and lets go). That is no newer
// holder: the holder's restore must wait for the lock to be let go and
// take the file, not declare the lock lost (which stops its command).
func TestRestoreWaitsOutAProberOfAStaleFile(t *testing.T) {
	t.Parallel()
	dir, l := holdApp(t)
	stale := filepath.Join(dir, "stale.lock")
	f, err := os.OpenFile(stale, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	staleIno := inodeOf(t, f)
	if err := writeRecord(f, staleIno, record{token: l.Token() - 1, held: true, name: nameSum("app")}); err != nil {
		t.Fatal(err)
	}
	if err := filelock.TryLock(f); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(stale, l.paths.lock); err != nil {
		t.Fatal(err)
	}
	restored := make(chan error, 1)
	go func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		restored <- l.restore()
	}()
	select {
	case err := <-restored:
		t.Fatalf("restore while a prober held the stale file = %v; want it to wait for the prober", err)
	case <-time.After(restoreGrace / 10):
		// Still waiting, as it should: the prober lets go now.
	}
	if err := filelock.Unlock(f); err != nil {
		t.Fatal(err)
	}
	if err := <-restored; err != nil {
		t.Fatalf("restore after the prober let go = %v; want the stale file taken", err)
	}
	l.mu.Lock()
	ino, lost := l.fIno, l.lostErr
	l.mu.Unlock()
	if lost != nil || ino != staleIno {
		t.Fatalf("after the restore: lock on inode %d (lost: %v); want it on the put-back file %d", ino, lost, staleIno)
	}
}

// TestNewerHolder: only a "held" record written to the file itself with a
// greater token than the holder's proves a newer holder at once.
func TestNewerHolder(t *testing.T) {
	l := &Lock{holder: Record{Token: 100}}
	const ino = 7
	for _, c := range []struct {
		r    record
		want bool
	}{
		{record{token: 101, held: true, ino: ino}, true},
		{record{token: 101, held: true, replaced: true, ino: ino}, true},
		{record{token: 99, held: true, ino: ino}, false},      // stale
		{record{token: 100, held: true, ino: ino}, false},     // this holder's own
		{record{token: 101, held: true, ino: ino + 1}, false}, // copied
		{record{token: 101, ino: ino}, false},                 // free
	} {
		if got := l.newerHolder(c.r, ino); got != c.want {
			t.Errorf("newerHolder(%+v) = %v, want %v", c.r, got, c.want)
		}
	}
}

// holdApp takes "app" in a new directory, released when the test ends.
func holdApp(t *testing.T) (dir string, l *Lock) {
	t.Helper()
	dir = t.TempDir()
	l, err := acquireIn(dir, "app", true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Release() })
	return dir, l
}
