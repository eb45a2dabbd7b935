package singleinstance

import (
	"context"
	"errors"
	"time"
)

// A Backend keeps locks somewhere other than this machine's lock directory,
// so that one holder can be enforced across machines. Without WithBackend,
// locks are kernel file locks in the lock directory. The module
// github.com/singleinstance/singleinstance/etcd provides a Backend on etcd;
// this package never imports it.
//
// New, NewContext, Run, CheckRunning, Status and KillRunning behave the same
// over any Backend: a conflict is an *AlreadyRunningError, a holder that
// loses its lock is told through Lost, and a backend that cannot be reached
// yields an error matching ErrUnavailable, never "not running".
type Backend interface {
	// TryAcquire takes the lock called name for the process self
	// describes, or returns an *AlreadyRunningError at once if another
	// holder has it.
	TryAcquire(ctx context.Context, name string, self *Holder) (Lease, error)
	// Acquire takes the lock called name, waiting for the holder to
	// release it (woken by an event, not by polling) until ctx is done;
	// then it returns an *AlreadyRunningError whose Cause is ctx's error.
	Acquire(ctx context.Context, name string, self *Holder) (Lease, error)
	// Status reports who holds the lock called name, taking nothing.
	Status(ctx context.Context, name string) (*State, error)
	// List reports the state of every name the backend has a holder or a
	// record for, sorted by name.
	List(ctx context.Context) ([]*State, error)
	// Stop asks the holder of name to stop, and waits up to wait (none if
	// zero, as long as ctx allows if negative) until it has released the
	// lock. With force, a holder that has not stopped by then is deprived
	// of the lock in a way that lets no one else take it before the holder
	// must have noticed. It returns false, nil if nothing held the lock,
	// and an error matching ErrStopTimeout if the holder still held it.
	Stop(ctx context.Context, name string, force bool, wait time.Duration) (bool, error)
	// StopCommand is the command line that stops name's holder, for
	// reports.
	StopCommand(name string) string
	// String says where the locks are kept, for messages.
	String() string
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
	// stop (Backend.Stop).
	StopRequested() <-chan struct{}
	// Release gives the lock up. It is idempotent.
	Release() error
}

// A HolderUpdater is a Lease that can change the description stored with
// it, which Instance.StartCommand uses to describe the started command.
type HolderUpdater interface {
	UpdateHolder(ctx context.Context, h Holder) error
}

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

// newWithBackend is NewContext over a Backend.
func newWithBackend(ctx context.Context, name string, cfg *config) (*Instance, error) {
	self, err := describeSelf()
	if err != nil {
		return nil, err
	}
	self.Token = 0
	self.AcquiredAt = timeNow()
	start := time.Now()
	var lease Lease
	switch {
	case cfg.timeout == 0:
		lease, err = cfg.backend.TryAcquire(ctx, name, self)
	case cfg.timeout > 0:
		wctx, cancel := context.WithTimeout(ctx, cfg.timeout)
		lease, err = cfg.backend.Acquire(wctx, name, self)
		cancel()
	default:
		lease, err = cfg.backend.Acquire(ctx, name, self)
	}
	if err != nil {
		var conflict *AlreadyRunningError
		if errors.As(err, &conflict) {
			if cfg.timeout != 0 && conflict.Waited == 0 {
				conflict.Waited = time.Since(start)
			}
			if conflict.Holder != nil {
				observe(ctx, conflict.Holder, cfg.liveStats)
			}
		}
		return nil, err
	}
	return &Instance{name: name, cfg: cfg, lease: lease}, nil
}
