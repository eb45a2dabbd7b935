//go:build linux

package singleinstance_test

// Fault tests: special files at the lock path, links planted at the
// predictable paths, and bad lock directories.
// The shared helpers and the overview are in faults_helpers_linux_test.go.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/singleinstance/singleinstance/internal/local"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/singleinstance/singleinstance"
)

// The lock path is not a regular file.

func TestFaultLockPathNotRegular(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		plant func(t *testing.T, lock, victim string)
	}{
		{"directory", func(t *testing.T, lock, _ string) {
			if err := os.Mkdir(lock, 0o700); err != nil {
				t.Fatal(err)
			}
		}},
		{"fifo", func(t *testing.T, lock, _ string) {
			if err := unix.Mkfifo(lock, 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"symlink to own file", func(t *testing.T, lock, victim string) {
			if err := os.Symlink(victim, lock); err != nil {
				t.Fatal(err)
			}
		}},
		{"dangling symlink", func(t *testing.T, lock, victim string) {
			if err := os.Symlink(victim+".missing", lock); err != nil {
				t.Fatal(err)
			}
		}},
		{"unix socket", func(t *testing.T, lock, _ string) {
			l, err := net.Listen("unix", lock)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { l.Close() })
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			opt := singleinstance.WithLockDir(dir)
			victim := faultVictim(t, filepath.Join(t.TempDir(), "victim"), "victim\n", 0o640)
			snap := faultSnapshot(t, victim)
			lock := faultPath(dir, ".lock")
			c.plant(t, lock, victim)
			typ := faultFileType(t, lock)
			faultNoHang(t, "New", func() { faultExpectNewFails(t, local.ErrNotRegularFile, opt) })
			faultProbeFails(t, local.ErrNotRegularFile, opt)
			if got := faultFileType(t, lock); got != typ {
				t.Errorf("lock path changed from %v to %v", typ, got)
			}
			faultAssertUnchanged(t, victim, snap)
			faultAssertAbsent(t, victim+".missing", faultPath(dir, ".info"), faultPath(dir, ".pid"))
		})
	}
}

// Links planted at the predictable paths.

func TestFaultPlantedSymlinks(t *testing.T) {
	t.Parallel()
	// plantLinks points .info and .pid at victims, with link.
	plantLinks := func(t *testing.T, dir, vdir string, link func(old, new string) error) map[string]faultSnap {
		t.Helper()
		victims := map[string]faultSnap{}
		for _, ext := range []string{".info", ".pid"} {
			victim := faultVictim(t, filepath.Join(vdir, "victim"+ext), "precious "+ext+"\n", 0o640)
			victims[victim] = faultSnapshot(t, victim)
			// Planted atomically over whatever is there.
			tmp := faultPath(dir, ext) + ".planting"
			if err := link(victim, tmp); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(tmp, faultPath(dir, ext)); err != nil {
				t.Fatal(err)
			}
		}
		return victims
	}
	for _, cleanup := range []bool{true, false} {
		t.Run(fmt.Sprintf("symlinks before New, cleanup %v", cleanup), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			opts := []singleinstance.Option{singleinstance.WithLockDir(dir), singleinstance.WithCleanupOnExit(cleanup)}
			victims := plantLinks(t, dir, t.TempDir(), os.Symlink)
			inst := faultMustNew(t, opts...)
			faultAssertRegular(t, faultPath(dir, ".info"), faultPath(dir, ".pid"))
			faultAssertHeldByMe(t, opts...)
			faultMustRelease(t, inst)
			if cleanup {
				faultAssertAbsent(t, faultPath(dir, ".info"), faultPath(dir, ".pid"))
			}
			faultAssertVictims(t, victims)
		})
	}
	t.Run("hard links before New", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		// Hard links need the victims on the same file system.
		vdir := filepath.Join(dir, "victims")
		if err := os.Mkdir(vdir, 0o700); err != nil {
			t.Fatal(err)
		}
		opt := singleinstance.WithLockDir(dir)
		victims := plantLinks(t, dir, vdir, os.Link)
		inst := faultMustNew(t, opt)
		faultAssertHeldByMe(t, opt)
		faultMustRelease(t, inst)
		faultAssertVictims(t, victims)
		for v := range victims {
			if n := faultSnapshot(t, v).nlink; n != 1 {
				t.Errorf("victim %s has %d links after New and Release, want 1", v, n)
			}
		}
	})
	t.Run("symlinks planted while held", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		opt := singleinstance.WithLockDir(dir)
		inst := faultMustNew(t, opt)
		victims := plantLinks(t, dir, t.TempDir(), os.Symlink)
		// The holder may already have put its own files back; either way
		// no probe reads through the links.
		st, err := singleinstance.Status(faultName, opt)
		if err != nil || !st.Running {
			t.Fatalf("Status = %+v, %v; want running", st, err)
		}
		t.Logf("Status while planted: holder %+v, verified %v, holder error %q", st.Holder, st.Verified, st.HolderError)
		switch {
		case st.Holder == nil:
			faultHolderErrorMentions(t, st, local.ErrNotRegularFile)
		case !st.Verified || st.Holder.PID != os.Getpid():
			t.Errorf("Status holder %+v (verified %v) is not this process's own record", st.Holder, st.Verified)
		}
		faultMustRelease(t, inst)
		faultAssertVictims(t, victims)
	})
}

// Bad lock directories.

func TestFaultInvalidLockDir(t *testing.T) {
	// Not parallel: it sets the environment and the working directory.
	cwd := t.TempDir()
	t.Chdir(cwd)
	for _, rel := range []string{"locks", "./locks", "../locks", ".", "~/locks"} {
		t.Run("option "+rel, func(t *testing.T) {
			t.Setenv(singleinstance.LockDirEnv, t.TempDir())
			opt := singleinstance.WithLockDir(rel)
			faultExpectNewFails(t, local.ErrInvalidLockDir, opt)
			faultProbeFails(t, local.ErrInvalidLockDir, opt)
		})
		t.Run("environment "+rel, func(t *testing.T) {
			t.Setenv(singleinstance.LockDirEnv, rel)
			faultExpectNewFails(t, local.ErrInvalidLockDir)
			faultProbeFails(t, local.ErrInvalidLockDir)
			// The option takes precedence over the environment.
			faultMustRelease(t, faultMustNew(t, singleinstance.WithLockDir(t.TempDir())))
		})
	}
	faultAssertDirHolds(t, cwd)
	faultAssertAbsent(t, filepath.Join(filepath.Dir(cwd), "locks"))

	file := faultVictim(t, filepath.Join(t.TempDir(), "file"), "not a directory\n", 0o600)
	snap := faultSnapshot(t, file)
	t.Run("regular file", func(t *testing.T) {
		opt := singleinstance.WithLockDir(file)
		faultExpectNewFails(t, singleinstance.ErrLockDirUnusable, opt)
		faultProbeFails(t, singleinstance.ErrLockDirUnusable, opt)
	})
	t.Run("regular file in the environment", func(t *testing.T) {
		t.Setenv(singleinstance.LockDirEnv, file)
		faultExpectNewFails(t, singleinstance.ErrLockDirUnusable)
		faultProbeFails(t, singleinstance.ErrLockDirUnusable)
	})
	t.Run("below a regular file", func(t *testing.T) {
		opt := singleinstance.WithLockDir(filepath.Join(file, "locks"))
		faultExpectNewFails(t, singleinstance.ErrLockDirUnusable, opt)
		faultProbeFails(t, singleinstance.ErrLockDirUnusable, opt)
	})
	faultAssertUnchanged(t, file, snap)
	t.Run("dangling symlink", func(t *testing.T) {
		dir := t.TempDir()
		link := filepath.Join(dir, "locks")
		if err := os.Symlink(filepath.Join(dir, "missing"), link); err != nil {
			t.Fatal(err)
		}
		opt := singleinstance.WithLockDir(link)
		faultExpectNewFails(t, singleinstance.ErrLockDirUnusable, opt)
		// A missing lock directory means not running.
		faultNotRunning(t, opt)
		faultAssertAbsent(t, filepath.Join(dir, "missing"))
	})
}

// TestFaultLinkedLockFileReplacedWhenFree: a hard-link copy of the lock
// directory (cp -al) gives the lock file a second link, and an acquisition
// never uses a lock file with other links. While it is held, a newcomer
// meets its holder as it would any (ErrAlreadyRunning), and a waiter
// waits; once nobody holds it, the next acquisition replaces the lock
// path's name with a new file instead of refusing until someone removes
// the link by hand. The copy keeps the old file, untouched.
func TestFaultLinkedLockFileReplacedWhenFree(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	opt := singleinstance.WithLockDir(dir)
	backup := filepath.Join(dir, "backup")
	if err := os.Mkdir(backup, 0o700); err != nil {
		t.Fatal(err)
	}
	copied := filepath.Join(backup, faultName+".lock")

	holder := faultMustNew(t, opt)
	if err := os.Link(faultPath(dir, ".lock"), copied); err != nil {
		t.Fatal(err)
	}
	for _, wait := range []time.Duration{0, 300 * time.Millisecond} {
		inst, err := singleinstance.New(faultName, opt, singleinstance.WithTimeout(wait))
		if err == nil {
			inst.Release()
			t.Fatalf("New (timeout %v) took a held lock whose file has a second link", wait)
		}
		if !errors.Is(err, singleinstance.ErrAlreadyRunning) {
			t.Errorf("New (timeout %v) of a held lock whose file has a second link = %v; want ErrAlreadyRunning", wait, err)
		}
	}
	faultAssertHeldByMe(t, opt)
	faultMustRelease(t, holder)
	before := faultSnapshot(t, copied)

	inst := faultMustNew(t, opt)
	cur, err := os.Stat(faultPath(dir, ".lock"))
	if err != nil {
		t.Fatal(err)
	}
	old, err := os.Stat(copied)
	if err != nil {
		t.Fatal(err)
	}
	if os.SameFile(cur, old) {
		t.Error("the lock path still names the linked file")
	}
	faultMustRelease(t, inst)
	after := faultSnapshot(t, copied)
	if after.nlink != 1 || !bytes.Equal(after.data, before.data) || !after.mtime.Equal(before.mtime) {
		t.Errorf("the copy changed: before %+v, after %+v", before, after)
	}
}

// TestFaultLockFileRelinkedInALoopWaiterOutlasts: someone links a free
// copy of the lock file over the lock path each time an acquisition has
// replaced it. One that does not wait gives up after a bounded number of
// tries; one that waits must not: it keeps trying, at a slower pace and
// saying so, until its deadline, and takes the lock once the re-linking
// stops. The re-linking is done from the acquisition's own log (after
// each "replaced by a new one", before it makes the new file), so that
// every try meets a linked file.
func TestFaultLockFileRelinkedInALoopWaiterOutlasts(t *testing.T) {
	t.Parallel()
	dir, opt, copied := faultFreeLinkedCopy(t)
	relinker := &relinkOnLog{t: t, from: copied, to: faultPath(dir, ".lock")}
	newRelinked := func(wait time.Duration, untilSlowed bool) (*singleinstance.Instance, error) {
		relinker.reset(untilSlowed)
		return singleinstance.New(faultName, opt, singleinstance.WithTimeout(wait), singleinstance.WithLogger(slog.New(relinker)))
	}

	inst, err := newRelinked(0, false)
	if err == nil {
		faultMustRelease(t, inst)
		t.Fatalf("New without waiting took the lock while its file was re-linked at every try (%d times)", relinker.relinks)
	}
	if !strings.Contains(err.Error(), "keeps getting other hard links") || strings.Contains(err.Error(), "waited") {
		t.Errorf("New without waiting, re-linked at every try = %v; want it to give up, saying the file keeps getting links", err)
	}
	if relinker.warnings != 1 {
		t.Errorf("New said %d times, as warnings, that it replaced a linked lock file (re-linked %d times); want once, the rest at debug level", relinker.warnings, relinker.relinks)
	}

	// Re-linked until the end of the wait: it gives up then, saying so.
	inst, err = newRelinked(time.Second, false)
	if err == nil {
		faultMustRelease(t, inst)
		t.Fatalf("New with a second to wait took the lock while its file was re-linked at every try (%d times)", relinker.relinks)
	}
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "waited") || !relinker.slowed {
		t.Errorf("New with a second to wait, re-linked at every try = %v (slowed: %v); want it to keep trying, slower, until the deadline, and say so", err, relinker.slowed)
	}

	inst, err = newRelinked(time.Minute, true)
	if err != nil {
		t.Fatalf("New with a minute to wait, re-linked %d times = %v; want it to keep trying until the re-linking stops", relinker.relinks, err)
	}
	if !relinker.slowed {
		t.Error("the waiting New did not say that the lock file keeps being replaced")
	}
	faultMustRelease(t, inst)
}

// TestFaultLockFileRelinkedConcurrentlyWaiterOutlasts: the same, raced
// for real. A loop links a free copy over the lock path as fast as it
// can, a fixed number of times, so the path changes under every step of
// an acquisition: between the open that refuses the linked file and the
// look that would remove it, between the removal and the next open.
// Waiting News, started with the loop, must never give up for anything
// it does: each takes the lock in some gap of the loop (whose next link
// then replaces its file), or once the loop stops.
func TestFaultLockFileRelinkedConcurrentlyWaiterOutlasts(t *testing.T) {
	t.Parallel()
	dir, opt, copied := faultFreeLinkedCopy(t)
	const waiters, relinks = 4, 20000
	errs := make(chan error, waiters)
	relinked := make(chan struct{})
	for i := 0; i < waiters; i++ {
		go func() {
			<-relinked // the loop has begun: New meets it from its first try
			inst, err := singleinstance.New(faultName, opt, singleinstance.WithTimeout(time.Minute), singleinstance.WithLogger(slog.New(slog.DiscardHandler)))
			if err == nil {
				// Its file may have been re-linked over: that is the
				// watch's business, not this test's.
				inst.Release()
			}
			errs <- err
		}()
	}
	// Half the links replace the path at once (link, then rename over
	// it); half remove it first, as ln -f may, so that an acquisition
	// also meets no file, and its rivals' new ones.
	lockPath := faultPath(dir, ".lock")
	for i := 0; i < relinks; i++ {
		if i%2 == 0 {
			if err := relinkOver(copied, lockPath); err != nil {
				t.Fatal(err)
			}
		} else {
			os.Remove(lockPath)
			// A rival's new file may be there already: this link is then
			// lost, as ln -f's would be.
			if err := os.Link(copied, lockPath); err != nil && !errors.Is(err, os.ErrExist) {
				t.Fatal(err)
			}
		}
		if i == 0 {
			close(relinked)
		}
	}
	for i := 0; i < waiters; i++ {
		if err := <-errs; err != nil {
			t.Errorf("a New with a minute to wait, the lock file re-linked %d times meanwhile: %v", relinks, err)
		}
	}
}

// relinkOnLog is a slog handler that links from over to each time the
// log says the lock file was replaced by a new one; if untilSlowed, only
// until the log says it keeps being replaced (slowed).
type relinkOnLog struct {
	t           *testing.T
	from, to    string
	mu          sync.Mutex
	untilSlowed bool
	relinks     int
	warnings    int // of them, at warning level
	slowed      bool
}

func (h *relinkOnLog) reset(untilSlowed bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.untilSlowed, h.relinks, h.warnings, h.slowed = untilSlowed, 0, 0, false
}

func (h *relinkOnLog) Enabled(context.Context, slog.Level) bool { return true }
func (h *relinkOnLog) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case strings.Contains(r.Message, "keeps being replaced"):
		h.slowed = true
	case strings.Contains(r.Message, "replaced by a new one") && !(h.untilSlowed && h.slowed):
		if err := relinkOver(h.from, h.to); err != nil {
			h.t.Error(err)
		}
		h.relinks++
		if r.Level >= slog.LevelWarn {
			h.warnings++
		}
	}
	return nil
}
func (h *relinkOnLog) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *relinkOnLog) WithGroup(string) slog.Handler      { return h }

// faultFreeLinkedCopy takes and releases the name in a new lock directory,
// and links its free lock file to a second name, dir/backup/NAME.lock,
// which it returns with the directory and its option.
func faultFreeLinkedCopy(t *testing.T) (dir string, opt singleinstance.Option, copied string) {
	t.Helper()
	dir = t.TempDir()
	opt = singleinstance.WithLockDir(dir)
	faultMustRelease(t, faultMustNew(t, opt))
	backup := filepath.Join(dir, "backup")
	if err := os.Mkdir(backup, 0o700); err != nil {
		t.Fatal(err)
	}
	copied = filepath.Join(backup, faultName+".lock")
	if err := os.Link(faultPath(dir, ".lock"), copied); err != nil {
		t.Fatal(err)
	}
	return dir, opt, copied
}

// relinkOver links from over to in one step: a link to a
// temporary name beside from, renamed over to.
func relinkOver(from, to string) error {
	tmp := from + ".tmp"
	os.Remove(tmp)
	if err := os.Link(from, tmp); err != nil {
		return err
	}
	return os.Rename(tmp, to)
}
