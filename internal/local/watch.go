package local

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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

// eventsAfter is how long a holder with the name token keeps the lock
// before it starts watching for file events (its first check runs then, or
// after the check interval if that is shorter; see startWatch).
//
// An inotify instance costs its process at exit: the kernel retires the
// instance's watches after an RCU grace period, and the process is not
// reaped until then (several milliseconds, more on a busy machine; it
// tripled the 90th percentile of a short "run NAME -- true"). A short-lived
// holder therefore never opens one. Nothing depends on the events for
// safety while the token is held: a newcomer that locks a replacement lock
// file finds the token bound and is refused, and kill and status find the
// holder through it. Without a token (another platform, or another user
// squats it) the lock file is the only proof, and the watch starts at once.
const eventsAfter = 100 * time.Millisecond

// startWatch starts watch, which l.stopWatch stops, closing l.watchDone
// once it has. Without the name token, watch starts at once. With it,
// watch starts only when its first check is due (the check interval, or
// eventsAfter if that comes first): a holder that lets go before then
// never starts it, and its check right after the acquisition's own would
// find nothing while the token keeps newcomers out anyway (see
// eventsAfter). Starting and stopping the goroutine (a thread woken twice)
// was about a third of the cost of New and Release in a loop, and stood
// between the end of a short command under run and run's exit.
func (l *Lock) startWatch() {
	ctx, cancel := context.WithCancel(context.Background())
	l.watchDone = make(chan struct{})
	start := time.Now()
	if l.token == nil {
		l.stopWatch = cancel
		go l.watch(ctx, false, start)
		return
	}
	t := time.AfterFunc(min(l.s.checkInterval, eventsAfter), func() { l.watch(ctx, true, start) })
	l.stopWatch = func() {
		cancel()
		if t.Stop() {
			close(l.watchDone) // watch never ran
		}
	}
}

// watch runs while the lock is held. It wakes on file events for the lock
// file (Linux) and at least every check interval, and keeps the lock file
// and the info files in place. withToken says whether the name token is
// held (see eventsAfter); start is when the lock was taken.
func (l *Lock) watch(ctx context.Context, withToken bool, start time.Time) {
	defer close(l.watchDone)
	var w *filelock.Watcher
	defer func() {
		if w != nil {
			w.Close()
		}
	}()
	lastTouch := start
	noEventsYet := withToken
	failures := 0 // restores failed in a row
	for checkNow := true; ; checkNow = false {
		if w == nil && !noEventsYet {
			if w, _ = filelock.Watch(l.paths.lock); w != nil && !w.Evented() {
				w.Close()
				w = nil // without events, polling faster than the interval buys nothing
			}
			// A change made before the watch existed would otherwise
			// wait for the next event or a whole interval.
			checkNow = checkNow || w != nil
		}
		var err error
		switch {
		case checkNow:
		case w != nil:
			err = w.Wait(ctx, l.s.checkInterval)
		case noEventsYet:
			wait := time.Until(start.Add(eventsAfter))
			if err = sleepCtx(ctx, min(l.s.checkInterval, wait)); err == nil && l.s.checkInterval >= wait {
				noEventsYet = false
				continue // to the watch, and the check right after it
			}
		default:
			err = sleepCtx(ctx, l.s.checkInterval)
		}
		if err != nil {
			return
		}
		replaced, lost, failed := l.check(failures)
		if lost {
			return
		}
		if replaced && w != nil {
			w.Close()
			w = nil
		}
		if failed {
			// The path names a file this holder cannot lock (one with
			// other links, another user's): the holder keeps its old one.
			// Its own tries can wake it again (opening such a file for
			// writing is an event), so it pauses before the next.
			failures++
			if err := sleepCtx(ctx, min(fallbackWake, l.s.checkInterval)); err != nil {
				return
			}
		} else {
			failures = 0
		}
		if time.Since(lastTouch) >= TouchInterval {
			lastTouch = time.Now()
			l.touch()
		}
	}
}

// check verifies that the lock path still names the locked file, restoring
// it if not, and that the .info and .pid files are still the ones written.
// It reports whether it restored it, whether the lock is lost, and whether
// a restore failed (the holder keeps its old file). failures is how many
// restores failed just before: only the first of a row is a warning.
func (l *Lock) check(failures int) (replaced, lost, failed bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.released || l.lostErr != nil {
		return false, true, false
	}
	same, err := safefs.SameFileID(l.f, l.fDev, l.fIno, l.paths.lock)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		l.s.log.Warn("singleinstance: cannot check lock file", "lock", l.paths.lock, "err", err)
	}
	if !same {
		if err := l.restore(); err != nil {
			if errors.Is(err, ErrLockLost) {
				l.markLost(err)
				return true, true, false
			}
			level := slog.LevelWarn
			if failures > 0 {
				level = slog.LevelDebug
			}
			l.s.log.Log(context.Background(), level, "singleinstance: lock file was deleted or replaced and cannot be restored yet; "+
				"still holding the old one, retrying", "lock", l.paths.lock, "err", err)
			return false, false, true
		}
		l.s.log.Warn("singleinstance: lock file was deleted or replaced; protection restored",
			"lock", l.paths.lock, "pid", l.holder.PID)
		replaced = true
	} else if l.shared {
		// A process of the command's tree may have unlocked the open file
		// it shares with this one: the lock is taken again through it
		// (locking what it holds already changes nothing). Another open
		// file may hold it for a moment (a waiter that locked it, found
		// the tree by its token, and lets go): as for a restore, only one
		// that recorded itself as the holder, or stays, takes it.
		if err := filelock.TryLock(l.f); errors.Is(err, filelock.ErrLocked) {
			if err := l.lockReplacement(l.f, l.fIno); errors.Is(err, ErrLockLost) {
				l.markLost(fmt.Errorf("singleinstance: %w: the lock on %s was let go by a process that shares it, and another process took it",
					ErrLockLost, l.paths.lock))
				return false, true, false
			}
		}
	}
	if l.described() && (!stillSame(l.paths.info, l.infoFile) || !stillSame(l.paths.pid, l.pidFile)) {
		// Warned once per row of failures (a full or read-only disk fails
		// every check alike).
		err := l.writeInfoFiles()
		if err != nil && !l.infoFailing {
			l.s.log.Warn("singleinstance: cannot rewrite info files; retrying at each check", "err", err)
		}
		l.infoFailing = err != nil
	}
	return replaced, false, false
}

func stillSame(path string, fi os.FileInfo) bool {
	cur, err := os.Lstat(path)
	return err == nil && fi != nil && os.SameFile(cur, fi)
}

// restore locks the file the lock path names now, keeping the old lock
// until the new one is held. If another process holds the new file, the
// lock is lost. The caller holds l.mu.
//
// The file that a started command inherited is the exception: its tree
// holds the lock on it through the open file it shares with this process,
// which a new open of the file could never lock. So restore keeps this
// process's copy of that open file when it moves to a replacement, and if
// the path names the inherited file again (renamed back over the
// replacement, a lock directory link rolled back), it goes back to it,
// once the kernel shows that the shared open file still holds the lock
// (or lets this process take it again).
func (l *Lock) restore() error {
	if err := prepareLockDir(l.paths.dir, false); err != nil {
		return err
	}
	if l.backToInherited() {
		return nil
	}
	nf, fi, err := safefs.OpenLockFile(l.paths.lock, lockFilePerm)
	if err != nil {
		return err
	}
	nDev, nIno := safefs.FileID(fi)
	switch {
	case nIno != 0 && nDev == l.fDev && nIno == l.fIno:
		// Put back between the check and this open (renamed away and
		// straight back): the lock is where it was. A new open of it
		// could never lock it beside this process's own.
		nf.Close()
		return nil
	case nIno != 0 && l.inherited != nil && nDev == l.inheritedDev && nIno == l.inheritedIno:
		nf.Close()
		if l.backToInherited() {
			return nil
		}
		return errors.New("lock file put back, but its lock could not be taken back yet")
	}
	if err := l.lockReplacement(nf, nIno); err != nil {
		nf.Close()
		return err
	}
	if same, err := safefs.SameFileID(nf, nDev, nIno, l.paths.lock); err != nil || !same {
		filelock.Unlock(nf)
		nf.Close()
		if err != nil {
			return fmt.Errorf("lock file replaced again while restoring: %w", err)
		}
		return errors.New("lock file replaced again while restoring")
	}
	l.restored = true
	if err := writeRecord(nf, nIno, record{token: l.holder.Token, held: true, replaced: true, name: nameSum(l.name)}); err != nil {
		filelock.Unlock(nf)
		nf.Close()
		return err
	}
	l.moveLockTo(nf, nDev, nIno, "restored")
	return nil
}

// moveLockTo makes f, locked and now at the lock path (dev and ino are
// its identity), the lock; how says what happened, for the log. Order
// matters for readers (see probe): f is locked already, then the .info
// names it, and only then is the old file let go. The file a started
// command inherited is kept (see Lock.inherited): its tree still holds
// it, and it must not read as free. The caller holds l.mu.
func (l *Lock) moveLockTo(f *os.File, dev, ino uint64, how string) {
	old, oldDev, oldIno := l.f, l.fDev, l.fIno
	l.f, l.fDev, l.fIno = f, dev, ino
	l.holder.LockDevice, l.holder.LockInode = dev, ino
	// Not described yet (ForCommand), Describe names the new file.
	if l.described() {
		if err := l.writeInfoFiles(); err != nil {
			// The new file is locked and the old one is let go below
			// either way: protection is restored, only the description is
			// missing until the next check rewrites it.
			l.s.log.Warn("singleinstance: lock file "+how+", but its description cannot be written yet",
				"lock", l.paths.lock, "err", err)
		}
	}
	if l.shared && oldDev == l.inheritedDev && oldIno == l.inheritedIno {
		l.inherited = old
		return
	}
	writeRecord(old, oldIno, record{token: l.holder.Token, name: nameSum(l.name)})
	old.Close()
}

// backToInherited makes the inherited lock file (see Lock.inherited) the
// lock again if the lock path names it, and reports whether it did. The
// lock on it must be this process's: the open file shared with the
// command holds it, or, if the command's tree let it go, this process
// takes it again through that open file. If someone else locked the file
// meanwhile (through an open file of their own), it is not this
// process's, and restore goes on as for any file at the path. The caller
// holds l.mu.
func (l *Lock) backToInherited() bool {
	if l.inherited == nil {
		return false
	}
	if same, err := safefs.SameFileID(l.inherited, l.inheritedDev, l.inheritedIno, l.paths.lock); err != nil || !same {
		return false
	}
	// flock on an open file that holds the lock already succeeds, and
	// fails only if another open file holds it.
	if err := filelock.TryLock(l.inherited); err != nil {
		return false
	}
	// The inherited file's record still names this acquisition as its
	// holder (a restore never rewrites it).
	f := l.inherited
	l.inherited = nil
	l.moveLockTo(f, l.inheritedDev, l.inheritedIno, "put back")
	return true
}

// restoreGrace is how long restore keeps trying to lock a replacement lock
// file that another process holds without having recorded itself as a
// newer holder. A newcomer locks the file briefly to look for an orphaned
// holder (see orphanedHolder), or to take it and then find this instance
// by its name token, and unlocks: that is not a loss.
const restoreGrace = time.Second

// lockReplacement locks nf, the file (with inode ino) now at the lock path.
// It fails with ErrLockLost if a newer holder has it (see newerHolder), or
// if it stays locked for restoreGrace.
func (l *Lock) lockReplacement(nf *os.File, ino uint64) error {
	deadline := time.Now().Add(restoreGrace)
	for {
		err := filelock.TryLock(nf)
		if err == nil || !errors.Is(err, filelock.ErrLocked) {
			return err
		}
		if l.newerHolder(readRecord(nf), ino) || time.Now().After(deadline) {
			return fmt.Errorf("singleinstance: %w: lock file %s was deleted or replaced, and another process locked the new one",
				ErrLockLost, l.paths.lock)
		}
		time.Sleep(time.Millisecond)
	}
}

// newerHolder reports whether r, the record of a locked file with inode
// ino, proves at once that another process took the name after this one:
// it says held, was written to that very file, and has a greater token.
// Tokens only rise: a process that takes the name later hands itself a
// greater one (see nextToken; the .info file that describes this holder
// carries its token to the newcomer even where the clock went back). A
// "held" record with a smaller token is stale: a lock file that its
// holder's tree inherited keeps it after they are gone, and a crash leaves
// it; such a file put back at the path is only being looked at by
// whoever locks it for a moment. A copied record says nothing of the file.
func (l *Lock) newerHolder(r record, ino uint64) bool {
	return r.held && r.describes(ino) && r.token > l.holder.Token
}

// markLost records the loss and closes the Lost channel. The caller holds
// l.mu.
func (l *Lock) markLost(err error) {
	l.lostErr = err
	l.s.log.Error("singleinstance: lock lost; another instance may be running, stop now",
		"name", l.name, "lock", l.paths.lock, "err", err)
	close(l.lost)
}

func (l *Lock) touch() {
	l.mu.Lock()
	defer l.mu.Unlock()
	safefs.Touch(l.f)
	for _, p := range []string{l.paths.info, l.paths.pid} {
		if f, _, err := safefs.OpenExisting(p); err == nil {
			safefs.Touch(f)
			f.Close()
		}
	}
	if d, err := os.Open(l.paths.dir); err == nil {
		safefs.Touch(d)
		d.Close()
	}
}
