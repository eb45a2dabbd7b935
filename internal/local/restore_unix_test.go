//go:build unix

package local

import (
	"os"
	"path/filepath"
	"testing"
)

// TestRestoreFindsItsOwnFilePutBack: the holder's check saw its lock file
// gone (renamed away), and by the time its restore opens the lock path the
// file is back (renamed straight back). The file it opens is its own
// locked one: the restore must keep it, not try to lock it through a new
// open (which its own lock refuses) and declare the lock lost.
func TestRestoreFindsItsOwnFilePutBack(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l, err := acquireIn(dir, "app", true)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	away := filepath.Join(t.TempDir(), "app.lock")
	if err := os.Rename(l.paths.lock, away); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(away, l.paths.lock); err != nil {
		t.Fatal(err)
	}
	l.mu.Lock()
	before := l.fIno
	err = l.restore()
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
