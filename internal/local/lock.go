package local

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strconv"
	"sync"

	"github.com/singleinstance/singleinstance/internal/filelock"
	"github.com/singleinstance/singleinstance/internal/safefs"
)

// A Lock is a held name: the locked lock file, the bound name token, and
// the goroutine that keeps both in place (see watch.go).
type Lock struct {
	s     *Store
	name  string
	paths paths
	// pidPerm is the .pid file's mode (see lockDirPidPerm).
	pidPerm fs.FileMode
	// warnedReplaced: this acquisition has said that the lock file keeps
	// being replaced (see replacedTooOften).
	warnedReplaced bool
	// warnedLinked: this acquisition has said that it replaced a free
	// lock file with other hard links (see dropLinkedFree); later ones
	// are said at debug level.
	warnedLinked bool
	// tokenKey names the name token (see token.go); token is the bound
	// token, nil where the platform has none or another user squats it.
	tokenKey string
	token    *os.File

	lost        chan struct{}
	stopWatch   context.CancelFunc
	watchDone   chan struct{}
	releaseOnce sync.Once
	releaseErr  error

	mu sync.Mutex // guards the fields below
	f  *os.File   // the locked lock file
	// fDev and fIno identify f, which keeps its identity while open.
	fDev, fIno uint64
	// tokenIno is the name token's socket inode, once nameLock needed it.
	tokenIno uint64
	shared   bool // a started command shares f and token
	// inheritedDev and inheritedIno identify the lock file the command
	// inherited: after a restore, its tree still holds that one.
	inheritedDev, inheritedIno uint64
	// inherited is this process's descriptor of that file (the same open
	// file as the command's), kept while f is a replacement: if the lock
	// path names the inherited file again (moved back, a link rolled
	// back), the lock goes back to it (see restore). Nil while f is it.
	inherited *os.File
	holder    Record // what the .info file says
	// restored: this acquisition put a file in place of its first (see
	// restore); its record says so.
	restored bool
	// describing: this acquisition keeps .info and .pid files in place
	// (set when it first writes them; an acquisition for a command leaves
	// that to Describe). infoFile and pidFile are the files it last
	// wrote; nil until a write succeeds, so that a first write that
	// failed (the lock directory moved under it) is made again by the
	// next check.
	describing bool
	infoFile   fs.FileInfo
	pidFile    fs.FileInfo
	// infoFailing: the last check could not rewrite them (warned once).
	infoFailing bool
	lostErr     error
	released    bool
}

// AcquireOptions say how Acquire waits and whom the files describe.
type AcquireOptions struct {
	// Wait for the holder (woken by its release where the platform tells)
	// until ctx is done; else fail at once.
	Wait bool
	// ForCommand leaves the .info and .pid files to Describe, which the
	// caller calls once it has started the command the lock is for (a
	// wrapper), where the name token is held. Until then the name is held
	// and undescribed: readers see the holding processes through the
	// kernel and the token, as they do for any holder between taking the
	// lock and describing itself, and nothing stands between taking the
	// lock and starting the command. Without a token (another platform,
	// or another user squats it) the holder describes itself at once.
	ForCommand bool
	// Self, if set, describes this process as the caller found it just
	// before Acquire, which uses it instead of a fresh look unless it
	// waited (then only ForCommand does: Describe replaces it when the
	// command starts).
	Self *Record
}

// Acquire takes name. A name held by another process is a *Conflict.
func (s *Store) Acquire(ctx context.Context, name string, o AcquireOptions) (*Lock, error) {
	pidPerm, err := lockDirPidPerm(s.dir, s.private)
	if err != nil {
		return nil, err
	}
	warnNetworkFS(s.log, s.dir)
	l := &Lock{s: s, name: name, paths: pathsFor(s.dir, name), pidPerm: pidPerm, lost: make(chan struct{}),
		tokenKey: tokenKey(s.dir, s.private, name)}
	for attempt := 1; ; attempt++ {
		retry, err := l.acquire(ctx, o)
		if err == nil {
			break
		}
		if !retry {
			return nil, err
		}
		if attempt >= maxReplacedRetries {
			if giveUp, _ := l.replacedTooOften(ctx, o.Wait); giveUp {
				return nil, err
			}
		}
	}
	l.startWatch()
	return l, nil
}

// acquire takes the lock and describes this process in the files. If the
// lock file was deleted or replaced while it did so, it locks the new file
// as a held lock would; if it cannot (another process locked the new
// file meanwhile, having found no description to refuse on), it gives the
// lock up and asks to retry: only one of the two may go on.
func (l *Lock) acquire(ctx context.Context, o AcquireOptions) (retry bool, err error) {
	f, fi, described, err := l.takeLock(ctx, o.Wait)
	if err != nil {
		return false, err
	}
	l.f = f
	l.fDev, l.fIno = safefs.FileID(fi)
	// Self, made just before, is fresh unless this acquisition waited:
	// the arguments and working directory may have changed meanwhile.
	self := o.Self
	if self == nil || o.Wait && !o.ForCommand {
		if self, err = DescribeSelf(); err != nil {
			l.abandon()
			return false, err
		}
	}
	// Only the name token keeps an undescribed holder in sight of a
	// newcomer that locks a replacement lock file (see orphanedHolder and
	// claimToken): without one, this process describes itself at once.
	if err := l.recordAcquisition(fi, described, self, !o.ForCommand || l.token == nil); err != nil {
		l.abandon()
		return false, err
	}
	same, err := safefs.SameFileID(l.f, l.fDev, l.fIno, l.paths.lock)
	if err == nil && same {
		return false, nil
	}
	l.mu.Lock()
	err = l.restore()
	l.mu.Unlock()
	if err == nil {
		return false, nil
	}
	l.abandon()
	l.holder, l.describing, l.infoFile, l.pidFile = Record{}, false, nil, nil
	return true, err
}

// recordAcquisition hands out the fencing token and writes the lock record
// and, if describe is set, the .info and the .pid files. fi is what
// opening the lock file found, described what the .info file said once
// the lock was taken (nil if nothing readable): a lock file made anew
// starts a new record, and the .info file's token keeps the tokens
// rising.
func (l *Lock) recordAcquisition(fi fs.FileInfo, described, self *Record, describe bool) error {
	prev := readRecord(l.f)
	var infoToken uint64
	if described != nil {
		infoToken = described.Token
	}
	h := *self
	var err error
	if h.Token, err = nextToken(prev.token, infoToken); err != nil {
		return fmt.Errorf("singleinstance: lock file %s: %w", l.paths.lock, err)
	}
	h.AcquiredAt = Now()
	h.LockDevice, h.LockInode = l.fDev, l.fIno
	if fi.Mode().Perm()&^lockFilePerm != 0 {
		// Made by an older version, or by hand: no other user may lock it.
		l.f.Chmod(lockFilePerm)
	}
	if err := writeRecord(l.f, l.fIno, record{token: h.Token, held: true, name: nameSum(l.name)}); err != nil {
		return classify("write lock file "+l.paths.lock, err)
	}
	l.holder = h
	if !describe {
		return nil
	}
	return l.writeInfoFiles()
}

// writeInfoFiles (re)writes .info and .pid from l.holder. The caller holds
// l.mu or owns l exclusively.
func (l *Lock) writeInfoFiles() error {
	l.describing = true
	fi, err := safefs.WriteAtomic(l.paths.info, encodeInfo(l.name, &l.holder), 0o600)
	if err != nil {
		return classify("write "+l.paths.info, err)
	}
	l.infoFile = fi
	pid := []byte(strconv.Itoa(l.holder.PID) + "\n")
	if fi, err = safefs.WriteAtomic(l.paths.pid, pid, l.pidPerm); err != nil {
		return classify("write "+l.paths.pid, err)
	}
	l.pidFile = fi
	return nil
}

// described reports whether this acquisition means to keep the .info and
// .pid files in place, written or not yet. The caller holds l.mu or owns
// l exclusively.
func (l *Lock) described() bool { return l.describing }

// abandon gives the lock up after a failed acquisition.
func (l *Lock) abandon() {
	if l.infoFile != nil {
		safefs.RemoveIfSame(l.paths.info, l.infoFile)
	}
	// Never lower the record: the acquisition may have failed before it
	// had a token of its own.
	writeRecord(l.f, l.fIno, record{token: max(l.holder.Token, readRecord(l.f).token), replaced: l.restored, name: nameSum(l.name)})
	l.closeLock()
}

// closeLock lets go of the lock: the name token first, so that whoever
// takes the file lock next finds the token free too. A lock shared with a
// started command is only closed, never unlocked: it stays held for as
// long as the command's tree keeps it. One that is not shared is unlocked
// first, so that it is free at once even if another goroutine of this
// process has just forked a child that has not yet called exec (and so
// still has a copy of the descriptor).
func (l *Lock) closeLock() error {
	var errs []error
	if l.token != nil {
		errs = append(errs, l.token.Close())
		l.token, l.tokenIno = nil, 0
	}
	if !l.shared {
		errs = append(errs, filelock.Unlock(l.f))
	}
	if l.inherited != nil {
		// The command's tree holds it through its own copies.
		errs = append(errs, l.inherited.Close())
		l.inherited = nil
	}
	return errors.Join(append(errs, l.f.Close())...)
}

// Release gives the lock up by closing it, first removing the .pid and
// .info files if the Store cleans up and they are still the ones written.
// While a started command's tree shares the lock, the files and the "held"
// record stay. It is idempotent: every call returns the first's result.
func (l *Lock) Release() error {
	l.releaseOnce.Do(func() { l.releaseErr = l.release() })
	return l.releaseErr
}

func (l *Lock) release() error {
	err := l.giveUp()
	// The watcher stops at its next look, which sees the lock released;
	// waiting for it only now keeps that wait out of the handoff to the
	// next holder.
	l.stopWatch()
	<-l.watchDone
	return err
}

// giveUp is release's work on the files and the lock, done under l.mu.
func (l *Lock) giveUp() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.released = true
	var errs []error
	// While a started command's tree still shares the lock, the files
	// describe a running holder: they stay, and so does the "held" record.
	sole := !l.shared || l.soleHolder()
	if sole && l.lostErr == nil && l.s.cleanup {
		errs = append(errs,
			safefs.RemoveIfSame(l.paths.info, l.infoFile),
			safefs.RemoveIfSame(l.paths.pid, l.pidFile))
	}
	if sole {
		// "free" before closing: a reader that still sees "held" knows the
		// .info describes a process that has not released yet.
		// "left" for a replacement: what this acquisition replaced may
		// still be held by a process it passed the lock to.
		free := record{token: l.holder.Token, replaced: l.restored, name: nameSum(l.name)}
		errs = append(errs, writeRecord(l.f, l.fIno, free))
		if l.inherited != nil {
			// The file the command's tree inherited, replaced since: its
			// tree is gone, so it is free too. Left "held", it would read
			// as held by a holder that no longer runs wherever it is put
			// back.
			errs = append(errs, writeRecord(l.inherited, l.inheritedIno, free))
		}
	}
	errs = append(errs, l.closeLock())
	if err := errors.Join(errs...); err != nil {
		return classify("release "+l.paths.lock, err)
	}
	return nil
}

// LockPath is the lock file.
func (l *Lock) LockPath() string { return l.paths.lock }

// LockDir is the lock directory.
func (l *Lock) LockDir() string { return l.paths.dir }

// Token is the fencing token of the acquisition.
func (l *Lock) Token() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.holder.Token
}

// Record is what the .info file says.
func (l *Lock) Record() Record {
	l.mu.Lock()
	defer l.mu.Unlock()
	h := l.holder
	h.Argv = append([]string(nil), h.Argv...)
	return h
}

// Lost is closed when the lock file was replaced and another process
// locked the new one first.
func (l *Lock) Lost() <-chan struct{} { return l.lost }

// Err is nil while the lock is held, and matches ErrLockLost once Lost is
// closed.
func (l *Lock) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lostErr
}

// StopRequested is nil: stop requests to a local holder are signals.
func (l *Lock) StopRequested() <-chan struct{} { return nil }

// Share passes the lock and the name token to cmd (see shareLock), which
// the caller then starts, and keeps the lock from being released until
// done is called with whether cmd started. From then on the lock is only
// ever closed, never unlocked: the command's tree holds it too.
func (l *Lock) Share(cmd *exec.Cmd) (done func(started bool), err error) {
	l.mu.Lock()
	if l.released {
		l.mu.Unlock()
		return nil, fmt.Errorf("singleinstance: StartCommand after Release")
	}
	closeCopies := shareLock(cmd, l.f, l.token)
	return func(started bool) {
		closeCopies()
		if started {
			l.shared = true
			l.inheritedDev, l.inheritedIno = l.fDev, l.fIno
		}
		l.mu.Unlock()
	}, nil
}

// Describe records h, the started command's description, in the .info
// and .pid files.
func (l *Lock) Describe(h Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.released {
		return nil
	}
	// A restore may have moved the lock meanwhile: the lock is this
	// Lock's, only the process is the command's.
	h.Token, h.LockDevice, h.LockInode = l.holder.Token, l.holder.LockDevice, l.holder.LockInode
	l.holder = h
	return l.writeInfoFiles()
}
