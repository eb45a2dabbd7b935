package singleinstance

import "github.com/singleinstance/singleinstance/internal/local"

// LockDirEnv is the environment variable that overrides DefaultLockDir.
const LockDirEnv = local.LockDirEnv

// MaxInfoSize bounds the .info and .pid files this package reads. It
// never writes a larger one, whatever the holder's command line and
// working directory (see Holder.Argv); anything larger is reported as
// ErrCorruptInfo unread.
const MaxInfoSize = local.MaxInfoSize

// TruncatedMarker starts the marker that takes the place of what a .info
// file could not hold: the last element of Holder.Argv, "…[truncated: N
// more bytes in M args]", or the end of a string field, "…[truncated: N
// more bytes]".
const TruncatedMarker = local.TruncatedMarker

// DefaultLockDir returns the directory used when neither WithLockDir nor
// SINGLEINSTANCE_LOCK_DIR is set. It is private to the calling user, so no
// other local user can pre-create, replace or read its files:
//
//   - Linux: /run/user/UID/singleinstance when /run/user/UID is a directory
//     (not a symbolic link) that belongs to the user and has mode 0700, as
//     systemd-logind makes it for a user who is logged in or lingers: no
//     other user can create that directory or anything in it. Otherwise
//     /tmp/singleinstance-UID (mode 0700). UID is the effective user ID.
//     The choice looks at /run/user/UID itself, never at $XDG_RUNTIME_DIR,
//     which cron jobs and system services do not have.
//   - macOS, BSD and other Unix systems: /tmp/singleinstance-UID (mode
//     0700). The path does not depend on $TMPDIR, which differs between a
//     login shell, cron and systemd: every start of a program, from
//     wherever, must find the same lock.
//   - Windows: %LOCALAPPDATA%\singleinstance.
//
// On Linux two starts can see different candidates: /run/user/UID is
// removed when the user's last session ends (unless the user lingers) and
// made again at the next login, so a copy started from a login session and
// one started by cron or a system service while no session exists use
// different directories. That split is safe because a holder that uses the
// default directory also holds a second kernel token keyed on the user and
// the name, not the directory, which a newcomer finds whichever candidate
// it uses. A lock directory given with WithLockDir or
// SINGLEINSTANCE_LOCK_DIR has no such token; it is the same for every start
// that gives it.
//
// A /tmp/singleinstance-UID created beforehand by another user is refused
// (ErrLockDirUnusable) with an error that names its owner and the way out.
//
// Because the directory is per user, the default guards against a second
// copy started by the same user. Lock files are refused when they belong to
// another user (ErrLockDirUnusable), so every copy of a program must run as
// one user account; to guard across working directories, shells, cron and
// systemd, nothing needs configuring.
func DefaultLockDir() (string, error) { return local.DefaultDir() }

// ResolveLockDir returns the lock directory that New, Status and the other
// calls use with opts: WithLockDir, else SINGLEINSTANCE_LOCK_DIR, else
// DefaultLockDir. It fails as they do, without creating or changing
// anything: with an error matching ErrLockDirUnusable for a relative
// directory, and, for the default directory if it exists, when it is not
// private to the user. A directory that
// does not exist yet is not an error.
func ResolveLockDir(opts ...Option) (string, error) {
	s, err := local.Open(local.Config{Dir: newConfig(opts).lockDir})
	if err != nil {
		return "", err
	}
	if err := s.CheckDir(); err != nil {
		return "", err
	}
	return s.Dir(), nil
}

// TouchInterval is how often a held lock refreshes the times of its lock,
// .pid and .info files, so that age-based temporary file cleaners
// (systemd-tmpfiles removes files in /tmp untouched for 10 days) never
// consider them old.
const TouchInterval = local.TouchInterval

// MaxNameLen is the longest lock name accepted, in bytes.
const MaxNameLen = local.MaxNameLen

// ValidateName checks that name can be used as a lock name on every
// supported platform: 1 to MaxNameLen bytes of ASCII letters, digits, '.',
// '_' and '-', starting with a letter or digit and not ending with '.', and
// not a device name reserved on Windows (CON, PRN, AUX, NUL, COM0-9,
// LPT0-9, with or without an extension). Such a name can never reach outside
// the lock directory. The error matches ErrInvalidName and says what is
// allowed.
func ValidateName(name string) error { return local.ValidateName(name) }
