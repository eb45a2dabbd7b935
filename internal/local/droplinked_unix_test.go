//go:build unix

package local

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/singleinstance/singleinstance/internal/safefs"
)

// TestDropLinkedFreeAnswers checks what dropLinkedFree says for each
// state the lock path can be in once an open refused it for its links:
// gone (try again) when the path changed since or the free file was
// removed, held when a lock is on it; and stuck when a free linked file
// cannot be removed (TestDropLinkedFreeStuck).
func TestDropLinkedFreeAnswers(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, err := Open(Config{Dir: dir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	lockPath := pathsFor(s.dir, "app").lock
	l := &Lock{s: s, name: "app", paths: pathsFor(s.dir, "app")}
	other := filepath.Join(dir, "elsewhere")

	check := func(what string, want linkedFound) {
		t.Helper()
		if got := l.dropLinkedFree(); got != want {
			t.Errorf("%s: dropLinkedFree = %d, want %d", what, got, want)
		}
	}

	check("no file at the lock path (deleted since the refusal)", linkedGone)

	if err := os.WriteFile(lockPath, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	check("a file with one link (another put there since the refusal)", linkedGone)
	if _, err := os.Stat(lockPath); err != nil {
		t.Errorf("the one-link file was touched: %v", err)
	}

	if err := os.Link(lockPath, other); err != nil {
		t.Fatal(err)
	}
	check("a free file with two links", linkedGone)
	if _, err := os.Lstat(lockPath); !os.IsNotExist(err) {
		t.Errorf("the free linked file is still at the lock path: %v", err)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("the file's other name is gone: %v", err)
	}

	holder, err := acquireIn(dir, "held", false)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Release()
	if err := os.Remove(other); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(holder.paths.lock, lockPath); err != nil {
		t.Fatal(err)
	}
	check("another name's held file linked here", linkedHeld)
	if _, err := os.Stat(lockPath); err != nil {
		t.Errorf("the held linked file was removed: %v", err)
	}

	if err := os.Remove(lockPath); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(other, lockPath); err != nil {
		t.Fatal(err)
	}
	check("a symbolic link put there since the refusal (the next open says so)", linkedGone)
	if _, err := os.Lstat(lockPath); err != nil {
		t.Errorf("the symbolic link was touched: %v", err)
	}
}

// TestDropLinkedFreeStuck: a free linked file in a directory that nobody
// may change (immutable: even root cannot remove from it) is stuck, and
// an acquisition, even a waiting one, fails at once saying why, rather
// than retrying until its deadline.
func TestDropLinkedFreeStuck(t *testing.T) {
	t.Parallel()
	chattr, err := exec.LookPath("chattr")
	if err != nil {
		t.Skip("no chattr to make a directory immutable")
	}
	dir := t.TempDir()
	lockPath := pathsFor(dir, "app").lock
	if err := os.WriteFile(lockPath, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(lockPath, filepath.Join(dir, "elsewhere")); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(chattr, "+i", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot make %s immutable: %v: %s", dir, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command(chattr, "-i", dir).CombinedOutput(); err != nil {
			t.Errorf("chattr -i %s: %v: %s", dir, err, out)
		}
	})
	s, err := Open(Config{Dir: dir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	l := &Lock{s: s, name: "app", paths: pathsFor(s.dir, "app")}
	if got := l.dropLinkedFree(); got != linkedStuck {
		t.Errorf("a free linked file in an immutable directory: dropLinkedFree = %d, want %d (stuck)", got, linkedStuck)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	got, err := s.Acquire(ctx, "app", AcquireOptions{Wait: true})
	if err == nil {
		got.Release()
		t.Fatal("a waiting Acquire took a lock file with two links that it cannot remove")
	}
	if !errors.Is(err, safefs.ErrHardLinked) || ctx.Err() != nil {
		t.Errorf("a waiting Acquire, lock file linked and not removable = %v after %v; want it to fail at once, for the links", err, time.Since(start))
	}
}
