package singleinstance

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/singleinstance/singleinstance/internal/filelock"
	"github.com/singleinstance/singleinstance/internal/safefs"
)

// TouchInterval is how often a held instance refreshes the times of its
// lock, .pid and .info files, so that age-based temporary file cleaners
// (systemd-tmpfiles removes files in /tmp untouched for 10 days) never
// consider them old.
const TouchInterval = time.Hour

// watch runs while the lock is held. It wakes on file events for the lock
// file (Linux) and at least every check interval, and keeps the lock file
// and the info files in place.
func (i *Instance) watch(ctx context.Context) {
	defer close(i.watchDone)
	var w *filelock.Watcher
	defer func() {
		if w != nil {
			w.Close()
		}
	}()
	lastTouch := time.Now()
	for first := true; ; first = false {
		if w == nil {
			if w, _ = filelock.Watch(i.paths.lock); w != nil && !w.Evented() {
				w.Close()
				w = nil // without events, polling faster than the interval buys nothing
			}
		}
		// The first check runs at once: a change made before the watch
		// existed would otherwise wait a whole interval.
		var err error
		switch {
		case first:
		case w != nil:
			err = w.Wait(ctx, i.cfg.checkInterval)
		default:
			err = sleepCtx(ctx, i.cfg.checkInterval)
		}
		if err != nil {
			return
		}
		replaced, lost := i.check()
		if lost {
			return
		}
		if replaced && w != nil {
			w.Close()
			w = nil
		}
		if time.Since(lastTouch) >= TouchInterval {
			lastTouch = time.Now()
			i.touch()
		}
	}
}

// check verifies that the lock path still names the locked file, restoring
// it if not, and that the .info and .pid files are still the ones written.
func (i *Instance) check() (replaced, lost bool) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.released || i.lostErr != nil {
		return false, true
	}
	same, err := safefs.SameFile(i.f, i.paths.lock)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		i.cfg.logger.Warn("singleinstance: cannot check lock file", "lock", i.paths.lock, "err", err)
	}
	if !same {
		if err := i.restore(); err != nil {
			if errors.Is(err, ErrLockLost) {
				i.markLost(err)
				return true, true
			}
			i.cfg.logger.Warn("singleinstance: lock file was deleted or replaced and cannot be restored yet; "+
				"still holding the old one, retrying", "lock", i.paths.lock, "err", err)
			return false, false
		}
		i.cfg.logger.Warn("singleinstance: lock file was deleted or replaced; protection restored",
			"lock", i.paths.lock, "pid", i.holder.PID)
		replaced = true
	}
	if !stillSame(i.paths.info, i.infoFile) || !stillSame(i.paths.pid, i.pidFile) {
		if err := i.writeInfoFiles(); err != nil {
			i.cfg.logger.Warn("singleinstance: cannot rewrite info files", "err", err)
		}
	}
	return replaced, false
}

func stillSame(path string, fi os.FileInfo) bool {
	cur, err := os.Lstat(path)
	return err == nil && fi != nil && os.SameFile(cur, fi)
}

// restore locks the file the lock path names now, keeping the old lock
// until the new one is held. If another process holds the new file, the
// lock is lost. The caller holds i.mu.
func (i *Instance) restore() error {
	if err := prepareLockDir(i.paths.dir, false); err != nil {
		return err
	}
	nf, err := safefs.OpenLockFile(i.paths.lock, lockFilePerm)
	if err != nil {
		return err
	}
	if err := i.lockReplacement(nf); err != nil {
		nf.Close()
		return err
	}
	if same, err := safefs.SameFile(nf, i.paths.lock); err != nil || !same {
		filelock.Unlock(nf)
		nf.Close()
		return fmt.Errorf("lock file replaced again while restoring: %v", err)
	}
	fi, err := nf.Stat()
	if err != nil {
		filelock.Unlock(nf)
		nf.Close()
		return err
	}
	if err := writeRecord(nf, record{token: i.holder.Token, held: true}); err != nil {
		filelock.Unlock(nf)
		nf.Close()
		return err
	}
	// Order matters for readers (see probe): the new file is locked, then
	// the .info names it, and only then is the old lock given up.
	old := i.f
	i.f = nf
	i.holder.LockDevice, i.holder.LockInode = safefs.FileID(fi)
	if err := i.writeInfoFiles(); err != nil {
		// The new file is locked and the old one is let go below either
		// way: protection is restored, only the description is missing
		// until the next check rewrites it.
		i.cfg.logger.Warn("singleinstance: lock file restored, but its description cannot be written yet",
			"lock", i.paths.lock, "err", err)
	}
	if !i.shared {
		// A started command's tree still holds the old file; it must not
		// read as free.
		writeRecord(old, record{token: i.holder.Token})
	}
	old.Close()
	return nil
}

// restoreGrace is how long restore keeps trying to lock a replacement lock
// file that another process holds without having recorded itself as the
// holder. A newcomer locks the file briefly to look for an orphaned holder
// (see heldOrphan), finds this instance, and unlocks: that is not a loss.
const restoreGrace = time.Second

// lockReplacement locks nf, the file now at the lock path. It fails with
// ErrLockLost if a process that recorded itself as holder (a "held" record
// with another token) has it, or if it stays locked for restoreGrace.
func (i *Instance) lockReplacement(nf *os.File) error {
	deadline := time.Now().Add(restoreGrace)
	for {
		err := filelock.TryLock(nf)
		if err == nil || !errors.Is(err, filelock.ErrLocked) {
			return err
		}
		if rec := readRecord(nf); rec.held && rec.token != i.holder.Token || time.Now().After(deadline) {
			return fmt.Errorf("singleinstance: %w: lock file %s was deleted or replaced, and another process locked the new one",
				ErrLockLost, i.paths.lock)
		}
		time.Sleep(time.Millisecond)
	}
}

// markLost records the loss and closes the Lost channel. The caller holds
// i.mu.
func (i *Instance) markLost(err error) {
	i.lostErr = err
	i.cfg.logger.Error("singleinstance: lock lost; another instance may be running, stop now",
		"name", i.name, "lock", i.paths.lock, "err", err)
	close(i.lost)
}

func (i *Instance) touch() {
	i.mu.Lock()
	defer i.mu.Unlock()
	safefs.Touch(i.f)
	for _, p := range []string{i.paths.info, i.paths.pid} {
		if f, err := safefs.OpenExisting(p); err == nil {
			safefs.Touch(f)
			f.Close()
		}
	}
	if d, err := os.Open(i.paths.dir); err == nil {
		safefs.Touch(d)
		d.Close()
	}
}
