package singleinstance

import (
	"fmt"
	"time"

	"github.com/singleinstance/singleinstance/internal/local"
)

// Errors. Check them with errors.Is; an error matching one of the file
// errors (ErrPermission to ErrNotRegularFile) still matches the underlying
// OS error too.
var (
	// ErrAlreadyRunning means another process holds the lock. Errors that match
	// it with errors.Is are *AlreadyRunningError values, which carry the
	// holder's details.
	ErrAlreadyRunning = local.ErrAlreadyRunning

	// ErrInvalidName means a lock name is empty, too long, or has characters
	// that are not allowed. See ValidateName.
	ErrInvalidName = local.ErrInvalidName

	// ErrInvalidLockDir means the lock directory given is not an absolute path.
	// A relative directory would name a different lock from every working
	// directory, which is how two copies of one program end up running.
	ErrInvalidLockDir = local.ErrInvalidLockDir

	// ErrLockDirUnusable means the lock directory is missing and cannot be
	// created, or is not a directory.
	ErrLockDirUnusable = local.ErrLockDirUnusable

	// ErrInsecureLockDir means the default per-user lock directory belongs to
	// another user, is a symbolic link, or is open to other users and cannot be
	// made private. Another local user may have planted it.
	ErrInsecureLockDir = local.ErrInsecureLockDir

	// ErrPermission means the lock directory or a file in it cannot be written
	// or read by this user. Errors matching it also match fs.ErrPermission.
	ErrPermission = local.ErrPermission

	// ErrReadOnly means the lock directory is on a read-only file system.
	ErrReadOnly = local.ErrReadOnly

	// ErrDiskFull means the file system of the lock directory has no space (or
	// no quota) left.
	ErrDiskFull = local.ErrDiskFull

	// ErrForeignLockFile means the lock file, or another file of the name,
	// belongs to another user. Only its owner can use it; remove it (when that
	// user's program is not running) or run as that user.
	ErrForeignLockFile = local.ErrForeignLockFile

	// ErrNotRegularFile means the lock, .pid or .info path is a directory, a
	// symbolic link, a FIFO or another special file. It was not followed or
	// opened for writing.
	ErrNotRegularFile = local.ErrNotRegularFile

	// ErrCorruptInfo means a .pid or .info file could not be parsed.
	ErrCorruptInfo = local.ErrCorruptInfo

	// ErrInfoTooLarge means a .pid or .info file is larger than any this
	// package writes (MaxInfoSize); it was not read.
	ErrInfoTooLarge = local.ErrInfoTooLarge

	// ErrLockLost means the lock of a running instance was taken over after its
	// lock file was deleted or replaced and protection could not be restored.
	// The instance must stop: another copy may be running.
	ErrLockLost = local.ErrLockLost

	// ErrHolderNotVisible means the lock is held, but the holder's process
	// cannot be seen from here (another PID namespace, container or boot), so
	// it cannot be stopped from here.
	ErrHolderNotVisible = local.ErrHolderNotVisible

	// ErrHolderUnproven means the lock is held, but the process named in the
	// .info file could not be proven to be the holder (the file may be stale or
	// forged). Nothing was signalled.
	ErrHolderUnproven = local.ErrHolderUnproven

	// ErrStopTimeout means a stop request was sent to the holder but the lock
	// was still held when the wait ended.
	ErrStopTimeout = local.ErrStopTimeout

	// ErrTokensExhausted means the last fencing token recorded for the name (in
	// the lock file or the .info file) is the largest possible (2^64-1), so no
	// greater one can be handed out. The acquisition fails instead of giving a
	// token that is not greater than an earlier holder's; the name cannot be
	// acquired again in that lock directory.
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
