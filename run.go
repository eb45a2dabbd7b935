package singleinstance

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// Run takes the lock called name, runs fn, and releases the lock when fn
// returns or panics. It is RunContext with context.Background().
func Run(name string, fn func(ctx context.Context) error, opts ...Option) error {
	return RunContext(context.Background(), name, fn, opts...)
}

// RunContext takes the lock called name (waiting as WithTimeout allows),
// then calls fn with a context that is cancelled when the process receives
// SIGINT or SIGTERM, when the lock is lost (context.Cause is then an error
// matching ErrLockLost), when another process asks it to stop through a
// Backend (the cause is ErrStopRequested), or when ctx is done. FromContext returns the held
// Instance from that context, for its fencing token. A signal that arrives while
// RunContext still waits for the lock ends the wait. The lock is released
// when fn returns or panics; a panic continues after the release.
//
// It returns the error from taking the lock (matching ErrAlreadyRunning on
// conflict) or fn's error. If fn returns nil after the lock was lost, it
// returns the ErrLockLost error, so that a lost lock is never silent. An
// error from releasing the lock is returned if fn's error is nil.
//
// While RunContext runs, SIGINT and SIGTERM do not kill the process; fn is
// expected to return when its context is cancelled. After RunContext
// returns, their default behaviour is back.
func RunContext(ctx context.Context, name string, fn func(ctx context.Context) error, opts ...Option) (err error) {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	inst, err := NewContext(ctx, name, opts...)
	if err != nil {
		return err
	}
	defer func() {
		if rerr := inst.Release(); err == nil {
			err = rerr
		}
	}()
	runCtx, cancel := context.WithCancelCause(context.WithValue(ctx, instanceKey{}, inst))
	defer cancel(nil)
	go func() {
		select {
		case <-inst.Lost():
			cancel(inst.Err())
		case <-inst.StopRequested():
			cancel(ErrStopRequested)
		case <-runCtx.Done():
		}
	}()
	err = fn(runCtx)
	if err == nil {
		err = inst.Err()
	}
	return err
}

type instanceKey struct{}

// FromContext returns the Instance that Run or RunContext holds for the
// context given to its function, or nil and false for any other context.
func FromContext(ctx context.Context) (*Instance, bool) {
	inst, ok := ctx.Value(instanceKey{}).(*Instance)
	return inst, ok
}
