package local

import (
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/singleinstance/singleinstance/internal/safefs"
)

// The errors of the local protocol. The root package exports the first
// group under the same names and documents them; each error of the second
// group is a more precise cause that also matches one of the first (with
// errors.Is), so the root's set of sentinels stays small.
var (
	ErrAlreadyRunning  = errors.New("another instance is already running")
	ErrInvalidName     = errors.New("invalid lock name")
	ErrLockDirUnusable = errors.New("lock directory unusable")
	ErrCorruptInfo     = errors.New("corrupt instance info file")
	ErrLockLost        = errors.New("lock lost")
	ErrHolderUnproven  = errors.New("cannot prove which process holds the lock")
	ErrStopTimeout     = errors.New("holder did not release the lock in time")
	ErrTokensExhausted = errors.New("fencing tokens exhausted")
)

var (
	ErrInvalidLockDir   = cause("invalid lock directory", ErrLockDirUnusable)
	ErrInsecureLockDir  = cause("lock directory is not private to this user", ErrLockDirUnusable)
	ErrPermission       = cause("permission denied in lock directory", ErrLockDirUnusable)
	ErrReadOnly         = cause("lock directory is on a read-only file system", ErrLockDirUnusable)
	ErrDiskFull         = cause("no space left in lock directory", ErrLockDirUnusable)
	ErrForeignLockFile  = cause("lock file belongs to another user", ErrLockDirUnusable)
	ErrNotRegularFile   = cause("not a regular file", ErrLockDirUnusable)
	ErrLinkedLockFile   = cause("lock file has other hard links", ErrLockDirUnusable)
	ErrInfoTooLarge     = cause("instance info file too large", ErrCorruptInfo)
	ErrHolderNotVisible = cause("lock holder is not visible from here", ErrHolderUnproven)
)

// A causeError is a precise cause with its own message that also matches
// a broader sentinel.
type causeError struct {
	msg    string
	parent error
}

func cause(msg string, parent error) error { return &causeError{msg, parent} }

func (e *causeError) Error() string { return e.msg }
func (e *causeError) Unwrap() error { return e.parent }

// classify turns an OS error on path into an error that matches one of the
// sentinels above and still matches the underlying error.
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
	case errors.Is(err, safefs.ErrHardLinked):
		sentinel = ErrLinkedLockFile
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

// A Conflict is the lock held by another process. The root package turns
// it into its AlreadyRunningError.
type Conflict struct {
	LockPath string
	// Holder is the holder's record, nil unless it was proven to describe
	// the current holder; HolderErr then says why.
	Holder    *Record
	HolderErr error
	Waited    time.Duration // when Cause ended a wait
	Cause     error         // the context error that ended a wait
}

func (c *Conflict) Error() string {
	return fmt.Sprintf("singleinstance: %s: %v", c.LockPath, ErrAlreadyRunning)
}

// Is reports whether target is ErrAlreadyRunning.
func (c *Conflict) Is(target error) bool { return target == ErrAlreadyRunning }

// Unwrap returns the context error that ended a wait, if any.
func (c *Conflict) Unwrap() error { return c.Cause }
