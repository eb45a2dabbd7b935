package singleinstance

import (
	"fmt"
	"time"

	"github.com/singleinstance/singleinstance/internal/local"
)

// Errors. Check them with errors.Is. Each names a kind of outcome a
// caller may act on; the message says the precise cause, and an error
// from the file system still matches the underlying OS error too (such as
// fs.ErrPermission, syscall.EROFS or syscall.ENOSPC).
var (
	// ErrAlreadyRunning means another process holds the lock. Errors that match
	// it with errors.Is are *AlreadyRunningError values, which carry the
	// holder's details.
	ErrAlreadyRunning = local.ErrAlreadyRunning

	// ErrInvalidName means a lock name is empty, too long, or has characters
	// that are not allowed. See ValidateName.
	ErrInvalidName = local.ErrInvalidName

	// ErrLockDirUnusable means the lock directory or a lock file in it
	// cannot be used: a relative path (which would name a different lock
	// from every working directory), a directory that is missing and
	// cannot be created, a default directory another user planted or
	// opened to others, a lock file of another user or one that is not a
	// regular file, no permission, a read-only file system, or no space
	// left. The message says which.
	ErrLockDirUnusable = local.ErrLockDirUnusable

	// ErrCorruptInfo means a .info or .pid file (or a backend's record)
	// could not be parsed, or is larger than MaxInfoSize and was not read.
	ErrCorruptInfo = local.ErrCorruptInfo

	// ErrLockLost means a held lock was taken away: its lock file was
	// deleted or replaced and another process locked the new one first,
	// or a backend could no longer confirm it. Another copy may be running.
	ErrLockLost = local.ErrLockLost

	// ErrHolderUnproven means the lock is held but KillRunning could not
	// prove which process holds it, so it signalled nothing: the
	// description is missing, damaged or names another process, or the
	// holder runs in another PID namespace or boot, where its PID means
	// nothing here.
	ErrHolderUnproven = local.ErrHolderUnproven

	// ErrStopTimeout means KillRunning signalled the holder but the lock was
	// still held when the wait ended.
	ErrStopTimeout = local.ErrStopTimeout

	// ErrTokensExhausted means the fencing token of the name has reached
	// its largest value, so no further acquisition can be given a greater
	// one.
	ErrTokensExhausted = local.ErrTokensExhausted
)

// AlreadyRunningError reports that another process holds the lock. It
// matches ErrAlreadyRunning, and also the context error (such as
// context.DeadlineExceeded) when a wait for the lock ended.
type AlreadyRunningError struct {
	// Name is the lock name.
	Name string
	// LockPath is the lock file.
	LockPath string
	// Holder is the holder's stored description, or nil if it could not
	// be read or proven to be the current holder's.
	Holder *Holder
	// Observed is what was seen of the holder's process.
	Observed
	// HolderErr says why Holder is nil or incomplete.
	HolderErr error
	// Waited is how long the caller waited for the lock (0: it did not).
	Waited time.Duration
	// Cause is the context error that ended a wait, or nil.
	Cause error
	// StopCommand is the command line that stops the holder, for Report;
	// empty means the CLI's kill command for LockPath.
	StopCommand string
}

func (e *AlreadyRunningError) Error() string {
	msg := fmt.Sprintf("singleinstance: %q: %v", e.Name, ErrAlreadyRunning)
	if e.Holder != nil {
		msg += fmt.Sprintf(" (pid %d", e.Holder.PID)
		if !e.Holder.Started.IsZero() {
			msg += ", started " + e.Holder.Started.Format(time.RFC3339)
		}
		msg += ")"
	}
	if e.Waited > 0 {
		msg += fmt.Sprintf("; waited %v", e.Waited.Round(time.Millisecond))
	}
	return msg
}

// Is reports whether target is ErrAlreadyRunning.
func (e *AlreadyRunningError) Is(target error) bool { return target == ErrAlreadyRunning }

// Unwrap returns the context error that ended a wait, if any.
func (e *AlreadyRunningError) Unwrap() error { return e.Cause }
