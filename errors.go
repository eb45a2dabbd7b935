package singleinstance

import (
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/singleinstance/singleinstance/internal/safefs"
)

// ErrAlreadyRunning means another process holds the lock. Errors that match
// it with errors.Is are *AlreadyRunningError values, which carry the
// holder's details.
var ErrAlreadyRunning = errors.New("another instance is already running")

// ErrInvalidName means a lock name is empty, too long, or has characters
// that are not allowed. See ValidateName.
var ErrInvalidName = errors.New("invalid lock name")

// ErrInvalidLockDir means the lock directory given is not an absolute path.
// A relative directory would name a different lock from every working
// directory, which is how two copies of one program end up running.
var ErrInvalidLockDir = errors.New("invalid lock directory")

// ErrLockDirUnusable means the lock directory is missing and cannot be
// created, or is not a directory.
var ErrLockDirUnusable = errors.New("lock directory unusable")

// ErrInsecureLockDir means the default per-user lock directory belongs to
// another user, is a symbolic link, or is open to other users and cannot be
// made private. Another local user may have planted it.
var ErrInsecureLockDir = errors.New("lock directory is not private to this user")

// ErrPermission means the lock directory or a file in it cannot be written
// or read by this user. Errors matching it also match fs.ErrPermission.
var ErrPermission = errors.New("permission denied in lock directory")

// ErrReadOnly means the lock directory is on a read-only file system.
var ErrReadOnly = errors.New("lock directory is on a read-only file system")

// ErrDiskFull means the file system of the lock directory has no space (or
// no quota) left.
var ErrDiskFull = errors.New("no space left in lock directory")

// ErrForeignLockFile means the lock file, or another file of the name,
// belongs to another user. Only its owner can use it; remove it (when that
// user's program is not running) or run as that user.
var ErrForeignLockFile = errors.New("lock file belongs to another user")

// ErrNotRegularFile means the lock, .pid or .info path is a directory, a
// symbolic link, a FIFO or another special file. It was not followed or
// opened for writing.
var ErrNotRegularFile = errors.New("not a regular file")

// ErrCorruptInfo means a .pid or .info file could not be parsed.
var ErrCorruptInfo = errors.New("corrupt instance info file")

// ErrInfoTooLarge means a .pid or .info file is larger than any this
// package writes (MaxInfoSize); it was not read.
var ErrInfoTooLarge = errors.New("instance info file too large")

// ErrLockLost means the lock of a running instance was taken over after its
// lock file was deleted or replaced and protection could not be restored.
// The instance must stop: another copy may be running.
var ErrLockLost = errors.New("lock lost")

// ErrHolderNotVisible means the lock is held, but the holder's process
// cannot be seen from here (another PID namespace, container or boot), so
// it cannot be stopped from here.
var ErrHolderNotVisible = errors.New("lock holder is not visible from here")

// ErrHolderUnproven means the lock is held, but the process named in the
// .info file could not be proven to be the holder (the file may be stale or
// forged). Nothing was signalled.
var ErrHolderUnproven = errors.New("cannot prove which process holds the lock")

// ErrStopTimeout means a stop request was sent to the holder but the lock
// was still held when the wait ended.
var ErrStopTimeout = errors.New("holder did not release the lock in time")

// ErrTokensExhausted means the last fencing token recorded for the name (in
// the lock file or the .info file) is the largest possible (2^64-1), so no
// greater one can be handed out. The acquisition fails instead of giving a
// token that is not greater than an earlier holder's; the name cannot be
// acquired again in that lock directory.
var ErrTokensExhausted = errors.New("fencing tokens exhausted")

// classify turns an OS error on path into an error that matches one of this
// package's sentinels and still matches the underlying error.
func classify(what string, err error) error {
	if err == nil {
		return nil
	}
	var sentinel error
	switch {
	// First: a private directory owned by another user matches both.
	case errors.Is(err, safefs.ErrInsecureDir):
		sentinel = ErrInsecureLockDir
	case errors.Is(err, safefs.ErrForeignOwner):
		sentinel = ErrForeignLockFile
	case errors.Is(err, safefs.ErrNotRegular):
		sentinel = ErrNotRegularFile
	case errors.Is(err, safefs.ErrTooLarge):
		sentinel = ErrInfoTooLarge
	case isReadOnly(err):
		sentinel = ErrReadOnly
	case isNoSpace(err):
		sentinel = ErrDiskFull
	case errors.Is(err, fs.ErrPermission):
		sentinel = ErrPermission
	case isNotDir(err), errors.Is(err, fs.ErrNotExist):
		sentinel = ErrLockDirUnusable
	default:
		return fmt.Errorf("singleinstance: %s: %w", what, err)
	}
	return fmt.Errorf("singleinstance: %s: %w: %w", what, sentinel, err)
}

// AlreadyRunningError reports that another process holds the lock. It
// matches ErrAlreadyRunning, and also the context error (such as
// context.DeadlineExceeded) when a wait for the lock ended.
type AlreadyRunningError struct {
	// Name is the lock name.
	Name string
	// LockPath is the lock file.
	LockPath string
	// Holder describes the holder, or is nil if it could not be read.
	Holder *Holder
	// HolderErr says why Holder is nil or incomplete.
	HolderErr error
	// Waited is how long the caller waited for the lock (0: it did not).
	Waited time.Duration
	// Cause is the context error that ended a wait, or nil.
	Cause error
	// StopCommand is the command line that stops the holder; empty means
	// the local one, StopCommand(Name, lock directory).
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
