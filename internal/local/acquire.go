package local

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/singleinstance/singleinstance/internal/filelock"
	"github.com/singleinstance/singleinstance/internal/proc"
	"github.com/singleinstance/singleinstance/internal/safefs"
	"github.com/singleinstance/singleinstance/termtext"
)

// fallbackWake bounds each wait for a file event: where events are missed
// (the lock file was replaced after the watch began, or a network file
// system), the waiter still retries this often.
const fallbackWake = 200 * time.Millisecond

// maxDeletedPause bounds the pause between two searches for the holder of
// a deleted lock file by a waiter (see takeLock).
const maxDeletedPause = time.Second

// maxReplacedRetries bounds how often an attempt without waiting retries
// because the lock file was replaced under it.
const maxReplacedRetries = 100

// takeLock returns the locked lock file, its FileInfo as it was opened
// (see safefs.OpenLockFile), and what the .info file said once it was
// locked (nil if nothing readable), waiting if wait is set until ctx is
// done.
func (l *Lock) takeLock(ctx context.Context, wait bool) (*os.File, fs.FileInfo, *Record, error) {
	start := time.Now()
	var f *os.File
	var fi fs.FileInfo
	var w *filelock.Watcher
	defer func() {
		if w != nil {
			w.Close()
		}
	}()
	announced := false
	// pause bounds each wait for a file event. A holder found only by the
	// search for a deleted lock file (a look through every process) sends
	// no event when it exits, and the search is not cheap: while it is the
	// one found, the pause doubles up to maxDeletedPause.
	pause := fallbackWake
	var orphans []int // holders of a deleted lock file, whose exit ends a wait
	for retries := 0; ; {
		if f == nil {
			var err error
			f, fi, err = safefs.OpenLockFile(l.paths.lock, lockFilePerm)
			if errors.Is(err, safefs.ErrHardLinked) && retries >= maxReplacedRetries {
				// Someone keeps linking it back: the same error as before,
				// said as what happened.
				if giveUp, waitErr := l.replacedTooOften(ctx, wait); giveUp {
					return nil, nil, nil, gaveUp(fmt.Errorf("singleinstance: lock file %s keeps getting other hard links while nobody holds it (gave up after %d retries): %w",
						l.paths.lock, retries, classify("lock file "+l.paths.lock, err)), waitErr, start)
				}
			}
			if errors.Is(err, safefs.ErrHardLinked) {
				// Refused for its other links: free, it is replaced; held,
				// its holder (or another name's, linked here) runs.
				switch l.dropLinkedFree() {
				case linkedGone:
					retries++
					continue
				case linkedHeld:
					if !wait || ctx.Err() != nil {
						return nil, nil, nil, l.conflict(nil, time.Since(start), ctx.Err())
					}
					if err := sleepCtx(ctx, fallbackWake); err != nil {
						return nil, nil, nil, l.conflict(nil, time.Since(start), err)
					}
					continue
				}
			}
			if errors.Is(err, fs.ErrNotExist) && (retries < maxReplacedRetries || wait && ctx.Err() == nil) {
				// The lock directory was deleted (a cleaner, rm -rf) since
				// it was prepared, or while this waited: make it again.
				retries++
				if _, err = lockDirPidPerm(l.s.dir, l.s.private); err == nil {
					continue
				}
			}
			if err != nil {
				return nil, nil, nil, classify("lock file "+l.paths.lock, err)
			}
		}
		// A lock file never held, or a replacement whose holder died
		// holding it, may hide the holder of a deleted one (see
		// deletedLockHolders). The search looks through every process,
		// which takes a while: it runs before this process locks the file,
		// so that nobody (kill) takes a newcomer for a holder meanwhile,
		// and only if the file is free (a waiter on a live holder does not
		// search).
		var orphan *Record
		// The record first: it rarely calls for the search, and then the
		// question to the kernel is spared.
		dev, ino := safefs.FileID(fi)
		if needsDeletedSearch(f, ino) && isFree(f) {
			// The holders found last time, if they still hold, spare the
			// search.
			if orphans = stillHolding(l.paths, orphans); len(orphans) > 0 {
				orphan = tokenHolder(l.paths, orphans)
			} else {
				orphan, orphans = l.holderOfDeleted(fi)
			}
		} else {
			orphans = nil
		}
		err := filelock.ErrLocked
		if orphan == nil {
			pause = fallbackWake
			err = filelock.TryLock(f)
		} else {
			pause = min(2*pause, maxDeletedPause)
		}
		switch {
		case err == nil:
			same, err := safefs.SameFileID(f, dev, ino, l.paths.lock)
			if err != nil {
				filelock.Unlock(f)
				f.Close()
				return nil, nil, nil, classify("lock file "+l.paths.lock, err)
			}
			if !same {
				// We locked a file that was deleted or replaced after we
				// opened it: its lock protects nothing. Retry on the file
				// the path names now.
				filelock.Unlock(f)
				f.Close()
				f = nil
				if retries++; retries > maxReplacedRetries {
					if giveUp, waitErr := l.replacedTooOften(ctx, wait); giveUp {
						return nil, nil, nil, gaveUp(fmt.Errorf("singleinstance: lock file %s keeps being replaced (gave up after %d retries)",
							l.paths.lock, retries), waitErr, start)
					}
				}
				continue
			}
			described, _ := readHolder(l.paths)
			orphan = orphanedHolder(l.paths, fi, described, l.s.log)
			switch {
			case orphan == nil:
				tok, pids, err := claimToken(l.tokenKey, filepath.Base(l.paths.lock), l.s.log)
				if err == nil {
					l.token = tok
					return f, fi, described, nil
				}
				filelock.Unlock(f)
				if !errors.Is(err, ErrAlreadyRunning) {
					f.Close()
					return nil, nil, nil, err
				}
				orphan = tokenHolder(l.paths, pids)
			default:
				filelock.Unlock(f)
			}
		case !errors.Is(err, filelock.ErrLocked):
			f.Close()
			return nil, nil, nil, classify("lock "+l.paths.lock, err)
		}
		if !wait || ctx.Err() != nil {
			f.Close()
			return nil, nil, nil, l.conflict(orphan, time.Since(start), ctx.Err())
		}
		if w == nil {
			// Watch first, then retry: a release between the failed attempt
			// and the watch would otherwise go unnoticed.
			if w, err = filelock.WatchRelease(l.paths.lock); err != nil {
				w = nil
				l.s.log.Debug("singleinstance: no file events, polling", "path", l.paths.lock, "err", err)
				if err := sleepCtx(ctx, fallbackWake); err != nil {
					f.Close()
					return nil, nil, nil, l.conflict(orphan, time.Since(start), err)
				}
			}
			continue
		}
		if !announced {
			announced = true
			l.announceWait(orphan)
		}
		if _, err := waitEvent(ctx, w, pause, orphans); err != nil {
			f.Close()
			return nil, nil, nil, l.conflict(orphan, time.Since(start), err)
		}
		if same, _ := safefs.SameFileID(f, dev, ino, l.paths.lock); !same {
			f.Close()
			f = nil
			w.Close()
			w = nil
		}
	}
}

// replacedTooOften decides what an acquisition does once the lock file
// has been replaced or re-linked under it more than maxReplacedRetries
// times (someone does it in a loop): it reports whether to give up, and
// the error that ended the wait if one did. One that does not wait gives
// up. One that waits keeps trying until ctx is done, but pauses
// fallbackWake before each further try, so that the loop costs it no CPU,
// and says so once per acquisition.
func (l *Lock) replacedTooOften(ctx context.Context, wait bool) (giveUp bool, waitErr error) {
	if !wait {
		return true, nil
	}
	if !l.warnedReplaced {
		l.warnedReplaced = true
		l.s.log.Warn("singleinstance: the lock file keeps being replaced or getting other hard links; trying again every "+
			fallbackWake.String()+" until the wait ends", "lock", l.paths.lock)
	}
	if err := sleepCtx(ctx, fallbackWake); err != nil {
		return true, err
	}
	return false, nil
}

// gaveUp is err, the reason an acquisition gave up, with the end of its
// wait if waitErr ended it: how long it waited, and waitErr, which the
// result matches.
func gaveUp(err, waitErr error, start time.Time) error {
	if waitErr == nil {
		return err
	}
	return fmt.Errorf("%w; waited %v: %w", err, time.Since(start).Round(time.Millisecond), waitErr)
}

// waitEvent waits for a file event on w, at most max, until ctx is done;
// and, if pids are given (the holders of a deleted lock file, whose exit
// no file event announces), until one of them exits. It reports whether
// the wait was quiet (see filelock.Watcher.WaitQuiet): never if a holder
// exited.
func waitEvent(ctx context.Context, w eventSource, max time.Duration, pids []int) (quiet bool, err error) {
	if len(pids) == 0 {
		return w.WaitQuiet(ctx, max)
	}
	exited, stop := proc.WatchExit(pids)
	defer stop()
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-exited:
			cancel()
		case <-wctx.Done():
		}
	}()
	quiet, err = w.WaitQuiet(wctx, max)
	if err != nil && ctx.Err() != nil {
		return false, err
	}
	return quiet && err == nil, nil
}

// linkedFound is what dropLinkedFree found at the lock path.
type linkedFound int

const (
	// linkedStuck: the file could not be looked at or removed (a
	// directory this user cannot write, a file system that refuses to
	// say whether it is locked), so the refusal of a linked file stands.
	linkedStuck linkedFound = iota
	// linkedHeld: a process holds a lock on the file.
	linkedHeld
	// linkedGone: the path no longer names the linked file. It was
	// removed, or someone else changed the path since it was refused
	// (deleted it, or linked or renamed another file there); either way a
	// new try meets what is there now. Someone who keeps doing it is
	// bounded as any replacement is (see replacedTooOften).
	linkedGone
)

// dropLinkedFree removes the lock path's name of a lock file that other
// names reach too (a hard link, such as a hard-link copy of the lock
// directory), if no process holds a lock on it, and reports what it
// found: an acquisition refuses such a file, so it would keep every later
// one out until someone removed it by hand. The file itself stays under
// its other names, untouched; the next open creates a new lock file,
// which the usual checks (the search for a deleted lock file's holders,
// the name token) then treat as any new one. A held one stays: its
// holder, or another name's holder whose file was linked here, runs, and
// an acquisition meets it as it meets any holder (a conflict, or a wait;
// it then looks again, as it has no file of its own to watch). The look
// and the removal are two steps: a rival's new file, put there between
// them, goes too. That is a lock file deleted under whoever opened it,
// which the checks after locking (the path must still name the file) and
// the search for a deleted lock file's holders already stand against.
func (l *Lock) dropLinkedFree() linkedFound {
	f, fi, err := safefs.OpenExisting(l.paths.lock)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, safefs.ErrNotRegular) {
		// Deleted, or something else put there: the next try says what.
		return linkedGone
	}
	if err != nil {
		return linkedStuck
	}
	defer f.Close()
	if safefs.LinkCount(fi) < 2 {
		return linkedGone
	}
	locked, err := filelock.IsLocked(f)
	switch {
	case err != nil:
		return linkedStuck
	case locked:
		return linkedHeld
	}
	if err := safefs.RemoveIfSame(l.paths.lock, fi); err != nil {
		return linkedStuck
	}
	level := slog.LevelWarn
	if l.warnedLinked {
		level = slog.LevelDebug // someone keeps linking it: said once
	}
	l.warnedLinked = true
	l.s.log.Log(context.Background(), level, "singleinstance: the lock file had other hard links and nobody held it; it was replaced by a new one",
		"lock", l.paths.lock, "links", safefs.LinkCount(fi))
	return linkedGone
}

// needsDeletedSearch reports whether f (whose inode is ino), if free, may
// hide the holder of a deleted lock file of the name (see
// deletedLockHolders), as its record tells: f was never held
// (the file before it was deleted), or its holder had replaced its first
// file, which processes it started or passed the lock to may still hold,
// or its record was copied from another file. A holder that died on its
// first file leaves its processes on that very file, which would not be
// free.
func needsDeletedSearch(f *os.File, ino uint64) bool {
	return readRecord(f).mayHideDeleted(ino)
}

// isFree reports whether the kernel shows no lock on f.
func isFree(f *os.File) bool {
	locked, err := filelock.IsLocked(f)
	return err == nil && !locked
}

// holderOfDeleted returns a process that holds a deleted lock file of the
// name, other than the file at the lock path (fi), and the PIDs of all
// that do (see deletedLockHolders).
func (l *Lock) holderOfDeleted(fi fs.FileInfo) (*Record, []int) {
	dev, ino := safefs.FileID(fi)
	pids := deletedLockHolders(l.paths, proc.FileID{Dev: dev, Ino: ino})
	if len(pids) == 0 {
		return nil, nil
	}
	return tokenHolder(l.paths, pids), pids
}

func (l *Lock) announceWait(orphan *Record) {
	h := orphan
	if h == nil {
		h, _ = readHolder(l.paths)
	}
	attrs := []any{"name", l.name, "lock", l.paths.lock}
	if h != nil {
		attrs = append(attrs, "holder_pid", h.PID, "holder_argv", quoteArgv(h.Argv))
	}
	l.s.log.Debug("singleinstance: waiting for the running instance to exit", attrs...)
}

// conflict builds the error for a lock held by someone else. It names the
// holder only if the .info file is proven to describe the current holder;
// a stale file from an earlier holder is not shown as the running one.
func (l *Lock) conflict(orphan *Record, waited time.Duration, cause error) error {
	e := &Conflict{LockPath: l.paths.lock, Cause: cause}
	if cause != nil {
		e.Waited = waited
	}
	if orphan != nil {
		e.Holder = orphan
	} else if r, err := l.s.probe(l.name, readInfo); err != nil {
		e.HolderErr = err
	} else {
		switch h := r.state.Holder; {
		case h != nil && r.state.Verified:
			e.Holder = h
		case r.holderErr != nil:
			e.HolderErr = r.holderErr
		case h != nil && len(r.state.Holding) > 0 && !describesLiveProcess(h):
			e.HolderErr = fmt.Errorf("the command the .info file names (pid %d) has exited; processes it started still hold the name: %s",
				h.PID, holdingList(r.state.Holding, h.OwnerPID))
		case h == nil && len(r.state.Holding) > 0:
			e.HolderErr = fmt.Errorf("it has no description; the kernel shows these processes holding it: %s",
				holdingList(r.state.Holding, 0))
		case h != nil:
			e.HolderErr = fmt.Errorf("the .info file names pid %d, which is not the current holder; the holder may still be starting", h.PID)
		}
	}
	return e
}

// holdingList names holding processes for a message, the wrapper (pid
// owner) as such.
func holdingList(hs []Process, owner int) string {
	parts := make([]string, len(hs))
	for i, h := range hs {
		parts[i] = fmt.Sprintf("pid %d: %s", h.PID, termtext.Argv(h.Argv))
		if owner != 0 && h.PID == owner {
			parts[i] = fmt.Sprintf("pid %d (its run wrapper)", h.PID)
		}
	}
	return strings.Join(parts, "; ")
}

// orphanedHolder looks for a holder that still runs on a lock file that has been
// deleted or replaced (see orphanFromInfo) while the file now at the lock
// path (fi) is locked by the caller, h being what the .info file says (nil
// if nothing readable). A newcomer must then not run.
func orphanedHolder(p paths, fi fs.FileInfo, h *Record, log *slog.Logger) *Record {
	if h == nil {
		return nil
	}
	dev, ino := safefs.FileID(fi)
	o := orphanFromInfo(p, dev, ino, h)
	if o != nil {
		log.Warn("singleinstance: the running instance holds a lock file that was deleted or replaced",
			"pid", o.PID, "lock", p.lock)
	}
	return o
}

// tokenHolder describes the holder of a name token whose lock file is not
// the one at the lock path: the .info file's holder if it is among pids,
// else the first of pids that can be looked up.
func tokenHolder(p paths, pids []int) *Record {
	if h, err := readHolder(p); err == nil && h != nil {
		for _, pid := range pids {
			if pid == h.PID || pid == h.OwnerPID {
				return h
			}
		}
	}
	return describePIDs(pids)
}

// readHolder reads and parses the .info file. It returns nil, nil if there
// is none.
func readHolder(p paths) (*Record, error) {
	data, err := safefs.ReadBounded(p.info, MaxInfoSize)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, classify("read "+p.info, err)
	}
	h, err := parseInfo(data)
	if err != nil {
		return nil, fmt.Errorf("singleinstance: %s: %w", p.info, err)
	}
	return h, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// warnNetworkFS logs a warning if dir is on a file system where locks may
// not work.
func warnNetworkFS(log *slog.Logger, dir string) {
	if kind, ok, err := safefs.NetworkFS(dir); err == nil && ok {
		log.Warn("singleinstance: lock directory is on a network or user-space file system; "+
			"file locks there may not exclude processes on other machines, or may not work at all",
			"dir", dir, "fs", kind)
	}
}
