package singleinstance

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"time"
)

// A Backend keeps locks. Without WithBackend, locks are kernel file locks
// in the lock directory, kept by this package's own Backend; the module
// github.com/singleinstance/singleinstance/etcd provides one on etcd, so
// that one holder can be enforced across machines. This package never
// imports it.
//
// New, NewContext, Run, CheckRunning, Status, KillRunning, List and Wait
// behave the same over any Backend: a conflict is an *AlreadyRunningError,
// a holder that loses its lock is told through Lost, and a backend that
// cannot be reached yields an error matching ErrUnavailable, never "not
// running". What a backend can do beyond taking and reporting a lock, it
// offers by implementing the optional interfaces Stopper, Lister and
// Waiter, and, for its leases, HolderUpdater.
type Backend interface {
	// TryAcquire takes the lock called name for the process self
	// describes, or returns an *AlreadyRunningError at once if another
	// holder has it.
	TryAcquire(ctx context.Context, name string, self *Holder) (Lease, error)
	// Acquire takes the lock called name, waiting for the holder to
	// release it (woken by an event, not by polling) until ctx is done;
	// then it returns an *AlreadyRunningError whose Cause is ctx's error.
	Acquire(ctx context.Context, name string, self *Holder) (Lease, error)
	// Status reports who holds the lock called name, taking nothing. It
	// fills in the stored facts and what it alone can observe (Verified,
	// Orphaned, Holding); the caller adds Visible and Process.
	Status(ctx context.Context, name string) (*State, error)
	// String says where the locks are kept, for messages.
	String() string
}

// A Stopper is a Backend that can stop a holder (KillRunning).
type Stopper interface {
	// Stop asks the holder of name to stop, and waits up to wait (none if
	// zero, as long as ctx allows if negative) until it has released the
	// lock. It returns false, nil if nothing held the lock, and an error
	// matching ErrStopTimeout if the holder still held it. With no wait,
	// the backend decides what success means (the file lock reports true
	// only if the lock is free right after the signal).
	//
	// Without force the holder is asked to stop and may take its time to
	// finish cleanly. With force the holder loses the lock whether or not
	// it cooperates, by the strongest means the backend has: the holder's
	// processes on this machine are killed (SIGKILL), which no process can
	// ignore; a holder elsewhere is fenced once the wait has ended, so that
	// no one else can take the lock before the holder must have noticed.
	Stop(ctx context.Context, name string, force bool, wait time.Duration) (bool, error)
}

// A Lister is a Backend that can list its names (List).
type Lister interface {
	// List reports the state of every name the backend has a holder or a
	// record for, sorted by name.
	List(ctx context.Context) ([]*State, error)
}

// A Waiter is a Backend that can wait for a name to become free or held
// without polling (Wait).
type Waiter interface {
	// Wait returns nil once name is held (held true) or free, or ctx's
	// error once ctx is done.
	Wait(ctx context.Context, name string, held bool) error
}

// A Lease is one acquisition held in a Backend.
type Lease interface {
	// Token is the fencing token of the acquisition: greater than that of
	// every earlier acquisition of the name in the backend.
	Token() uint64
	// Holder describes the holder as the backend records it.
	Holder() Holder
	// Lost is closed once the lease may no longer be held, early enough
	// that no other holder can have acquired it yet.
	Lost() <-chan struct{}
	// Err is nil while the lease is held, and matches ErrLockLost once
	// Lost is closed.
	Err() error
	// StopRequested is closed when another process asks this holder to
	// stop (Stopper.Stop), if the backend passes requests that way; nil
	// if it signals the holder instead.
	StopRequested() <-chan struct{}
	// Release gives the lock up. It is idempotent.
	Release() error
}

// A HolderUpdater is a Lease that can change the description stored with
// it, which Instance.StartCommand uses to describe the started command.
type HolderUpdater interface {
	UpdateHolder(ctx context.Context, h Holder) error
}

// Capabilities of this package's own Backend, the file lock.
type (
	// commandSharer is a Lease that passes the lock itself to a started
	// command; done, called once the command started or failed to, ends
	// the sharing step.
	commandSharer interface {
		Share(cmd *exec.Cmd) (done func(started bool), err error)
	}
	// treeLease is a Lease that can list and signal the processes that
	// share it.
	treeLease interface {
		Tree() ([]int, error)
		SignalTree(sig os.Signal) error
	}
	// lockFile is a Lease that is a file.
	lockFile interface {
		LockPath() string
		LockDir() string
	}
	// runningChecker is a Backend that tells "running" more cheaply than
	// Status.
	runningChecker interface {
		Running(ctx context.Context, name string) (bool, error)
	}
)

// ErrUnavailable means the lock backend (such as an etcd cluster) could not
// be reached or did not answer in time, so nothing could be decided:
// neither "running" nor "not running".
var ErrUnavailable = errors.New("lock backend unavailable")

// ErrStopRequested is the cause of the context Run gives its function when
// another process asked the holder to stop through a Backend.
var ErrStopRequested = errors.New("stop requested")

// WithBackend keeps the lock in b instead of a file in the lock directory.
// Options about the lock directory and lock file are then ignored.
func WithBackend(b Backend) Option { return func(c *config) { c.backend = b } }
