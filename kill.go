package singleinstance

import (
	"context"
	"errors"
	"fmt"
)

// KillRunning stops the process that holds the lock called name. It is
// KillRunningContext with context.Background().
func KillRunning(name string, force bool, opts ...Option) (bool, error) {
	return KillRunningContext(context.Background(), name, force, opts...)
}

// KillRunningContext stops the holder of the lock called name and waits,
// up to WithStopTimeout (default 10s) and while ctx is not done, until the
// lock is free or held by a new holder.
//
// Without force the holder is asked to stop: SIGTERM for a file lock (on
// Windows, TerminateProcess), a stop request through a Backend
// (Instance.StopRequested; Run cancels its context). With force the holder
// loses the lock whether or not it cooperates: SIGKILL for a file lock; a
// holder in a Backend that has not stopped when the wait ends is fenced,
// so that no one else can take the lock before its Lost has fired.
//
// For a file lock it signals only processes it has proven to hold the
// lock: the holder, when the lock file's record and the .info file name
// the same acquisition, the process with the recorded PID has the recorded
// start time, boot and PID namespace, and, on Linux, the kernel lists a
// lock on the lock file among that process's open files; and every
// process the kernel shows holding the lock or the name token, except the
// wrapper that started the holder. The signal is sent through a pidfd
// (Linux), so a PID reused after the proof is never hit. If the proof
// fails it signals nothing and returns an error matching ErrHolderUnproven.
//
// It returns false, nil if nothing held the lock; true, nil once the holder
// has released it; and false with an error matching ErrStopTimeout if the
// lock was still held when the wait ended.
func KillRunningContext(ctx context.Context, name string, force bool, opts ...Option) (bool, error) {
	if err := ValidateName(name); err != nil {
		return false, err
	}
	cfg := newConfig(opts)
	b, err := cfg.lockBackend()
	if err != nil {
		return false, err
	}
	s, ok := b.(Stopper)
	if !ok {
		return false, fmt.Errorf("singleinstance: %s cannot stop a holder: %w", b, errors.ErrUnsupported)
	}
	return s.Stop(ctx, name, force, cfg.stopTimeout)
}
