package singleinstance

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"time"

	"github.com/singleinstance/singleinstance/internal/local"
	"github.com/singleinstance/singleinstance/internal/proc"
)

// An Instance is a held lock: proof that this process is the only one
// running under its name, as long as Lost has not fired.
type Instance struct {
	name  string
	cfg   *config
	lease Lease
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
// with the same name and lock directory (or Backend) holds the lock until
// Release is called, the process exits, or Lost fires. A file lock belongs
// to this process's open file, not to a PID: the kernel frees it when the
// process dies in any way, and child processes started with os/exec do not
// inherit it (see StartCommand).
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
	b, err := cfg.lockBackend()
	if err != nil {
		return nil, err
	}
	rec, err := local.DescribeSelf()
	if err != nil {
		return nil, err
	}
	self := Holder(*rec)
	self.AcquiredAt = local.Now()
	start := time.Now()
	var lease Lease
	switch {
	case cfg.timeout == 0:
		lease, err = b.TryAcquire(ctx, name, &self)
	case cfg.timeout > 0:
		wctx, cancel := context.WithTimeout(ctx, cfg.timeout)
		lease, err = b.Acquire(wctx, name, &self)
		cancel()
	default:
		lease, err = b.Acquire(ctx, name, &self)
	}
	if err != nil {
		var conflict *AlreadyRunningError
		if errors.As(err, &conflict) {
			if cfg.timeout != 0 && conflict.Waited == 0 {
				conflict.Waited = time.Since(start)
			}
			if conflict.Holder != nil {
				// The wait may have ended with ctx; looking at the holder
				// must not.
				conflict.Visible, conflict.Exited, conflict.Process = observe(context.WithoutCancel(ctx), conflict.Holder, cfg.liveStats)
			}
		}
		return nil, err
	}
	return &Instance{name: name, cfg: cfg, lease: lease}, nil
}

// Release gives up the lock. A file lock is given up by closing it; with
// cleanup on exit (the default) the .pid and .info files are removed
// first, if they are still the ones this Instance wrote; the lock file is
// never removed. After StartCommand, processes of the command's tree that
// still run keep the lock held, and the files stay while they do. Release
// is idempotent and safe to call from several goroutines at once,
// including a signal handler's goroutine: every call returns the result of
// the first.
//
// A process that dies without calling Release loses nothing but tidiness:
// the kernel frees the lock, and stale .pid/.info files are ignored and
// replaced. With signal.NotifyContext, defer its stop function before
// deferring Release, so that Release runs while signals are still caught.
func (i *Instance) Release() error { return i.lease.Release() }

// Name returns the lock name.
func (i *Instance) Name() string { return i.name }

// LockPath returns the path of the lock file; it is empty for a lock held
// in another Backend.
func (i *Instance) LockPath() string {
	if f, ok := i.lease.(lockFile); ok {
		return f.LockPath()
	}
	return ""
}

// LockDir returns the lock directory; it is empty for a lock held in
// another Backend.
func (i *Instance) LockDir() string {
	if f, ok := i.lease.(lockFile); ok {
		return f.LockDir()
	}
	return ""
}

// Token returns the fencing token of this acquisition: strictly greater
// than the token of every earlier acquisition of the name on this machine
// (file locks) or in the Backend (for etcd, the revision that created the
// holder's key). Pass it to systems that can reject writes from a stale
// holder.
func (i *Instance) Token() uint64 { return i.lease.Token() }

// Holder returns what this instance recorded about itself.
func (i *Instance) Holder() Holder { return i.lease.Holder() }

// Lost returns a channel that is closed if the lock is lost while held:
// for a file lock, the lock file was deleted or replaced and another
// process locked the new one before this instance could; in a Backend, as
// soon as the lock can no longer be known to be held, early enough that no
// other holder can have taken it yet. Then another copy may be running,
// and this one must stop at once. The channel is never closed by Release.
func (i *Instance) Lost() <-chan struct{} { return i.lease.Lost() }

// StopRequested returns a channel that is closed when another process asks
// this holder to stop through a Backend (KillRunning with WithBackend).
// Run cancels its function's context then. For a file lock, stop requests
// are signals, and the channel is never closed.
func (i *Instance) StopRequested() <-chan struct{} { return i.lease.StopRequested() }

// Err returns nil while the lock is held, and an error matching ErrLockLost
// once Lost has fired.
func (i *Instance) Err() error { return i.lease.Err() }

// StartCommand starts cmd as the program this lock guards, for wrappers that
// run another program under the lock (as the singleinstance CLI's run
// command does). It calls cmd.Start; the caller waits for cmd and then
// calls Release.
//
// For a file lock on Unix the child inherits the lock and, on Linux, the
// name token as the next descriptors after cmd.ExtraFiles (3 and 4 if it
// is empty): every process of the command's tree that keeps them holds the
// name, even after the command and this process have exited. A process
// lets go of the name by closing both. Descriptors that the child would
// have inherited at those numbers (open in this process and not
// close-on-exec, such as the lock of a wrapper that started this one) are
// passed on above them, so that the child holds an enclosing wrapper's
// lock too. On Windows, where a lock cannot be
// shared with a child, and in other Backends, the lock stays with this
// process, which must keep running (and watch Lost and StopRequested)
// while the command runs.
//
// On Linux and FreeBSD (parent-death signal) and Windows (a job object) the
// command is killed if this process dies, even by SIGKILL: the command
// itself never runs on unguarded, even if it closed the descriptors it
// inherited. Elsewhere (macOS, the other BSDs) a wrapper killed without a
// chance to stop its command leaves the command running, guarded only by
// the descriptor it inherited.
//
// From then on the holder's description names the command (its PID, start
// time, executable, argv and working directory), and records this process
// as the lock's owner, so that KillRunning and status tools stop and show
// the program that does the work (where the Backend can store it:
// HolderUpdater).
func (i *Instance) StartCommand(cmd *exec.Cmd) error {
	if err := i.lease.Err(); err != nil {
		return err
	}
	done := func(bool) {}
	if s, ok := i.lease.(commandSharer); ok {
		var err error
		if done, err = s.Share(cmd); err != nil {
			return err
		}
	}
	afterStart := proc.BindToParent(cmd)
	err := cmd.Start()
	done(err == nil)
	if err != nil {
		return err
	}
	if err := afterStart(); err != nil {
		// The command runs; it just would not die with this process.
		i.cfg.logger.Warn("singleinstance: the command may outlive this process", "err", err)
	}
	u, ok := i.lease.(HolderUpdater)
	if !ok {
		return nil
	}
	base := local.Record(i.lease.Holder())
	h, ok, err := local.DescribeCommand(base, cmd)
	if err != nil {
		return err
	}
	if !ok {
		// The command has exited already; if nothing describes the lock
		// yet (WithCommandHolder), this process, which holds it until
		// Release, is its holder.
		if !i.cfg.forCommand {
			return nil
		}
		h = base
	}
	ctx, cancel := context.WithTimeout(context.Background(), describeTimeout)
	defer cancel()
	return u.UpdateHolder(ctx, Holder(h))
}

// describeTimeout bounds how long StartCommand waits for a Backend to store
// the started command's description.
const describeTimeout = 5 * time.Second

// Tree returns the PIDs of the other processes that share this instance's
// lock or name token: after StartCommand, the command and every process of
// its tree that kept the descriptors it inherited, including processes that
// outlive the command. While any of them runs, the name stays held, even
// after Release. Only file locks on Linux can tell; elsewhere Tree returns
// an error matching errors.ErrUnsupported.
func (i *Instance) Tree() ([]int, error) {
	if t, ok := i.lease.(treeLease); ok {
		return t.Tree()
	}
	return nil, fmt.Errorf("singleinstance: Tree of a lock held in %s: %w", i.cfg.backend, errors.ErrUnsupported)
}

// SignalTree sends sig to every process Tree returns, each only after the
// kernel has shown it to hold the lock or the name token (through a pidfd,
// so a reused PID is never hit). It returns the first error for a process
// that could not be signalled although it still holds them.
func (i *Instance) SignalTree(sig os.Signal) error {
	if t, ok := i.lease.(treeLease); ok {
		return t.SignalTree(sig)
	}
	return fmt.Errorf("singleinstance: SignalTree of a lock held in %s: %w", i.cfg.backend, errors.ErrUnsupported)
}
