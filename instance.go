package singleinstance

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"sync"

	"github.com/singleinstance/singleinstance/internal/filelock"
	"github.com/singleinstance/singleinstance/internal/safefs"
)

// An Instance is a held lock: proof that this process is the only one
// running under its name, as long as Lost has not fired.
type Instance struct {
	name  string
	cfg   *config
	lease Lease // the lock in a Backend; nil for a file lock
	paths paths
	// tokenKey names the name token (see token.go); token is the bound
	// token, nil where the platform has none or another user squats it.
	tokenKey string
	token    *os.File

	lost        chan struct{}
	stopWatch   context.CancelFunc
	watchDone   chan struct{}
	releaseOnce sync.Once
	releaseErr  error

	mu     sync.Mutex // guards the fields below
	f      *os.File   // the locked lock file
	shared bool       // a started command shares f and token
	// inheritedDev and inheritedIno identify the lock file the command
	// inherited: after a restore, its tree still holds that one.
	inheritedDev, inheritedIno uint64
	holder                     Holder // what the .info file says
	infoFile                   fs.FileInfo
	pidFile                    fs.FileInfo
	lostErr                    error
	released                   bool
}

// New takes the lock called name, or fails. It is NewContext with
// context.Background().
func New(name string, opts ...Option) (*Instance, error) {
	return NewContext(context.Background(), name, opts...)
}

// NewContext takes the lock called name for this process. If another
// process holds it, NewContext waits as long as WithTimeout allows (by
// default not at all) and ctx is not done, then returns an
// *AlreadyRunningError, which matches ErrAlreadyRunning and, if ctx ended the
// wait, ctx.Err(). Cancelling ctx after NewContext returns has no effect on
// the Instance.
//
// If NewContext returns nil error, no other process that uses this package
// with the same name and lock directory holds the lock until Release is
// called, the process exits, or Lost fires. The lock belongs to this
// process's open file, not to a PID: the kernel frees it when the process
// dies in any way, and child processes started with os/exec do not inherit
// it.
//
// On success the .pid and .info files describe this process, and the
// Instance watches its lock file: if the file is deleted or replaced, it is
// restored at once (Linux) or within the check interval; if another process
// took the new file first, Lost fires and Err returns ErrLockLost.
//
// Callers must call Release when done; it is safe to defer it right away.
func NewContext(ctx context.Context, name string, opts ...Option) (*Instance, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	cfg := newConfig(opts)
	if cfg.backend != nil {
		return newWithBackend(ctx, name, cfg)
	}
	dir, private, err := cfg.resolveLockDir()
	if err != nil {
		return nil, err
	}
	if err := prepareLockDir(dir, private); err != nil {
		return nil, err
	}
	warnNetworkFS(cfg.logger, dir)
	inst := &Instance{name: name, cfg: cfg, paths: pathsFor(dir, name), lost: make(chan struct{}),
		tokenKey: tokenKey(dir, private, name)}
	for attempt := 1; ; attempt++ {
		retry, err := inst.acquire(ctx)
		if err == nil {
			break
		}
		if !retry || attempt >= maxReplacedRetries {
			return nil, err
		}
	}
	watchCtx, cancel := context.WithCancel(context.Background())
	inst.stopWatch = cancel
	inst.watchDone = make(chan struct{})
	go inst.watch(watchCtx)
	return inst, nil
}

// acquire takes the lock and describes this process in the files. If the
// lock file was deleted or replaced while it did so, it locks the new file
// as a held instance would; if it cannot (another process locked the new
// file meanwhile, having found no description to refuse on), it gives the
// lock up and asks to retry: only one of the two may go on.
func (i *Instance) acquire(ctx context.Context) (retry bool, err error) {
	f, err := i.takeLock(ctx)
	if err != nil {
		return false, err
	}
	i.f = f
	self, err := describeSelf()
	if err != nil {
		i.abandon()
		return false, err
	}
	if err := i.recordAcquisition(self); err != nil {
		i.abandon()
		return false, err
	}
	same, err := safefs.SameFile(i.f, i.paths.lock)
	if err == nil && same {
		return false, nil
	}
	i.mu.Lock()
	err = i.restore()
	i.mu.Unlock()
	if err == nil {
		return false, nil
	}
	i.abandon()
	i.holder, i.infoFile, i.pidFile = Holder{}, nil, nil
	return true, err
}

// recordAcquisition hands out the fencing token and writes the lock record,
// the .info and the .pid files.
func (i *Instance) recordAcquisition(self *Holder) error {
	prev := readRecord(i.f)
	var infoToken uint64
	if data, err := safefs.ReadBounded(i.paths.info, MaxInfoSize); err == nil {
		if h, err := parseInfo(data); err == nil {
			infoToken = h.Token
		}
	}
	h := *self
	var err error
	if h.Token, err = nextToken(prev.token, infoToken); err != nil {
		return fmt.Errorf("singleinstance: lock file %s: %w", i.paths.lock, err)
	}
	h.AcquiredAt = timeNow()
	fi, err := i.f.Stat()
	if err != nil {
		return classify("lock file "+i.paths.lock, err)
	}
	h.LockDevice, h.LockInode = safefs.FileID(fi)
	if fi.Mode().Perm()&^lockFilePerm != 0 {
		// Made by an older version, or by hand: no other user may lock it.
		i.f.Chmod(lockFilePerm)
	}
	if err := writeRecord(i.f, record{token: h.Token, held: true}); err != nil {
		return classify("write lock file "+i.paths.lock, err)
	}
	i.holder = h
	return i.writeInfoFiles()
}

// writeInfoFiles (re)writes .info and .pid from i.holder. The caller holds
// i.mu or owns i exclusively.
func (i *Instance) writeInfoFiles() error {
	if err := safefs.WriteAtomic(i.paths.info, encodeInfo(i.name, &i.holder), 0o600); err != nil {
		return classify("write "+i.paths.info, err)
	}
	var err error
	if i.infoFile, err = os.Lstat(i.paths.info); err != nil {
		return classify("write "+i.paths.info, err)
	}
	pid := []byte(strconv.Itoa(i.holder.PID) + "\n")
	if err := safefs.WriteAtomic(i.paths.pid, pid, i.paths.perm()); err != nil {
		return classify("write "+i.paths.pid, err)
	}
	if i.pidFile, err = os.Lstat(i.paths.pid); err != nil {
		return classify("write "+i.paths.pid, err)
	}
	return nil
}

// abandon gives the lock up after a failed acquisition.
func (i *Instance) abandon() {
	if i.infoFile != nil {
		safefs.RemoveIfSame(i.paths.info, i.infoFile)
	}
	// Never lower the record: the acquisition may have failed before it
	// had a token of its own.
	writeRecord(i.f, record{token: max(i.holder.Token, readRecord(i.f).token)})
	i.closeLock()
}

// closeLock lets go of the lock: the name token first, so that whoever
// takes the file lock next finds the token free too. A lock shared with a
// started command is only closed, never unlocked: it stays held for as
// long as the command's tree keeps it. One that is not shared is unlocked
// first, so that it is free at once even if another goroutine of this
// process has just forked a child that has not yet called exec (and so
// still has a copy of the descriptor).
func (i *Instance) closeLock() error {
	var errs []error
	if i.token != nil {
		errs = append(errs, i.token.Close())
		i.token = nil
	}
	if !i.shared {
		errs = append(errs, filelock.Unlock(i.f))
	}
	return errors.Join(append(errs, i.f.Close())...)
}

// Release gives up the lock by closing it. With cleanup on exit (the
// default) it first removes the .pid and .info files, if they are still
// the ones this Instance wrote; it never removes the lock file. After
// StartCommand, processes of the command's tree that still run keep the
// lock held, and the files stay while they do. Release is idempotent and
// safe to call from several goroutines at once, including a signal handler's
// goroutine: every call returns the result of the first.
//
// A process that dies without calling Release loses nothing but tidiness:
// the kernel frees the lock, and stale .pid/.info files are ignored and
// replaced. With signal.NotifyContext, defer its stop function before
// deferring Release, so that Release runs while signals are still caught.
func (i *Instance) Release() error {
	if i.lease != nil {
		return i.lease.Release()
	}
	i.releaseOnce.Do(func() { i.releaseErr = i.release() })
	return i.releaseErr
}

func (i *Instance) release() error {
	i.stopWatch()
	<-i.watchDone
	i.mu.Lock()
	defer i.mu.Unlock()
	i.released = true
	var errs []error
	// While a started command's tree still shares the lock, the files
	// describe a running holder: they stay, and so does the "held" record.
	sole := !i.shared || i.soleHolder()
	if sole && i.lostErr == nil && i.cfg.cleanupOnExit {
		errs = append(errs,
			safefs.RemoveIfSame(i.paths.info, i.infoFile),
			safefs.RemoveIfSame(i.paths.pid, i.pidFile))
	}
	if sole {
		// "free" before closing: a reader that still sees "held" knows the
		// .info describes a process that has not released yet.
		errs = append(errs, writeRecord(i.f, record{token: i.holder.Token}))
	}
	errs = append(errs, i.closeLock())
	if err := errors.Join(errs...); err != nil {
		return classify("release "+i.paths.lock, err)
	}
	return nil
}

// Name returns the lock name.
func (i *Instance) Name() string { return i.name }

// LockPath returns the path of the lock file; it is empty for a lock held
// in a Backend.
func (i *Instance) LockPath() string { return i.paths.lock }

// LockDir returns the lock directory; it is empty for a lock held in a
// Backend.
func (i *Instance) LockDir() string { return i.paths.dir }

// Token returns the fencing token of this acquisition: strictly greater
// than the token of every earlier acquisition of the name on this machine.
// Pass it to systems that can reject writes from a stale holder.
//
// In a Backend the token is the backend's (for etcd, the revision that
// created the holder's key), greater than that of every earlier
// acquisition of the name on any machine.
func (i *Instance) Token() uint64 {
	if i.lease != nil {
		return i.lease.Token()
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.holder.Token
}

// Holder returns what this instance recorded about itself in the .info file.
func (i *Instance) Holder() Holder {
	if i.lease != nil {
		return i.lease.Holder()
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	h := i.holder
	h.Argv = append([]string(nil), h.Argv...)
	return h
}

// Lost returns a channel that is closed if the lock is lost while held:
// the lock file was deleted or replaced and another process locked the new
// one before this instance could. Then another copy may be running, and
// this one must stop at once. The channel is never closed by Release.
//
// In a Backend, Lost is closed as soon as the lock can no longer be known
// to be held, such as when the backend stopped confirming it: early enough
// that no other holder can have taken it yet.
func (i *Instance) Lost() <-chan struct{} {
	if i.lease != nil {
		return i.lease.Lost()
	}
	return i.lost
}

// StopRequested returns a channel that is closed when another process asks
// this holder to stop through a Backend (KillRunning with WithBackend).
// Run cancels its function's context then. For a file lock, stop requests
// are signals, and the channel is never closed.
func (i *Instance) StopRequested() <-chan struct{} {
	if i.lease != nil {
		return i.lease.StopRequested()
	}
	return nil
}

// Err returns nil while the lock is held, and an error matching ErrLockLost
// once Lost has fired.
func (i *Instance) Err() error {
	if i.lease != nil {
		return i.lease.Err()
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.lostErr
}
