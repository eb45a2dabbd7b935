package singleinstance

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/singleinstance/singleinstance/internal/safefs"
)

// LockDirEnv is the environment variable that overrides DefaultLockDir.
const LockDirEnv = "SINGLEINSTANCE_LOCK_DIR"

// DefaultLockDir returns the directory used when neither WithLockDir nor
// SINGLEINSTANCE_LOCK_DIR is set. It is private to the calling user, so no
// other local user can pre-create, replace or read its files:
//
//   - Linux, macOS, BSD: /tmp/singleinstance-UID (mode 0700, UID the
//     effective user ID). The path does not depend on $TMPDIR, which differs
//     between a login shell, cron and systemd: every start of a program, from
//     wherever, must find the same lock.
//   - Windows: %LOCALAPPDATA%\singleinstance.
//
// Because the directory is per user, the default guards against a second
// copy started by the same user. Lock files are refused when they belong to
// another user (ErrForeignLockFile), so every copy of a program must run as
// one user account; to guard across working directories, shells, cron and
// systemd, nothing needs configuring.
func DefaultLockDir() (string, error) { return defaultLockDir() }

// ResolveLockDir returns the lock directory that New, Status and the other
// calls use with opts: WithLockDir, else SINGLEINSTANCE_LOCK_DIR, else
// DefaultLockDir. It fails as they do, without creating or changing
// anything: with an error matching ErrInvalidLockDir for a relative
// directory, and, for the default directory if it exists, with
// ErrInsecureLockDir when it is not private to the user. A directory that
// does not exist yet is not an error. Tools that list the lock directory
// use it to find the directory every other call uses.
func ResolveLockDir(opts ...Option) (string, error) {
	dir, private, err := newConfig(opts).resolveLockDir()
	if err != nil {
		return "", err
	}
	if private {
		if err := safefs.CheckPrivateDir(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", lockDirError(dir, err)
		}
	}
	return dir, nil
}

// lockDirError is the error for a lock directory that cannot be used.
func lockDirError(dir string, err error) error {
	return classify("lock directory "+dir, err)
}

// lockDir resolves the lock directory from the options and the environment,
// and whether it is the private default.
func (c *config) resolveLockDir() (dir string, private bool, err error) {
	dir = c.lockDir
	if dir == "" {
		dir = os.Getenv(LockDirEnv)
	}
	if dir == "" {
		d, err := defaultLockDir()
		if err != nil {
			return "", false, fmt.Errorf("singleinstance: default lock directory: %w: %w", ErrLockDirUnusable, err)
		}
		return d, true, nil
	}
	if !filepath.IsAbs(dir) {
		return "", false, fmt.Errorf("singleinstance: %w %q: must be an absolute path, or each working directory gets its own lock", ErrInvalidLockDir, dir)
	}
	return filepath.Clean(dir), false, nil
}

// prepareLockDir creates the lock directory if needed and checks it.
func prepareLockDir(dir string, private bool) error {
	var err error
	if private {
		err = safefs.EnsurePrivateDir(dir)
	} else {
		err = safefs.EnsureDir(dir)
	}
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			// Something that is not a directory, such as a dangling
			// symbolic link, is in the way.
			return fmt.Errorf("singleinstance: lock directory %s: %w: %w", dir, ErrLockDirUnusable, err)
		}
		return classify("lock directory "+dir, err)
	}
	return nil
}

// paths are the files of one lock name.
type paths struct {
	dir, lock, pid, info string
}

func pathsFor(dir, name string) paths {
	base := filepath.Join(dir, name)
	return paths{dir: dir, lock: base + ".lock", pid: base + ".pid", info: base + ".info"}
}
