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
// (ErrInsecureLockDir) with an error that names its owner and the way out.
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
		if err := checkLockDir(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
	}
	return dir, nil
}

// checkLockDir checks, changing nothing, that the private lock directory
// dir is fit to use (see safefs.CheckPrivateDir). A missing directory is
// an error that matches fs.ErrNotExist.
func checkLockDir(dir string) error {
	if err := safefs.CheckPrivateDir(dir); err != nil {
		return lockDirError(dir, err)
	}
	return nil
}

// lockDirError is the error for a lock directory that cannot be used. For
// a private directory that is not private (ErrInsecureLockDir) it says
// what is wrong with it and how to fix it: whose it is, where a symbolic
// link in its place leads, or what its mode is.
func lockDirError(dir string, err error) error {
	cerr := classify("lock directory "+dir, err)
	if !errors.Is(cerr, ErrInsecureLockDir) {
		return cerr
	}
	fi, lerr := os.Lstat(dir)
	if lerr != nil {
		return cerr
	}
	fix := "set " + LockDirEnv + " to a directory you own"
	var why string
	if fi.Mode()&fs.ModeSymlink != 0 {
		target, _ := os.Readlink(dir)
		why = fmt.Sprintf("lock directory %s is a symbolic link to %s, not a directory of your own: "+
			"another user may have planted it to redirect your lock files; remove it, or %s", dir, target, fix)
	} else if owner, ok := foreignOwner(fi); ok {
		why = fmt.Sprintf("lock directory %s belongs to %s, not to you (%s): "+
			"another user may have created it to block or watch your programs; remove it as root, or %s",
			dir, owner, selfUID(), fix)
	} else {
		why = fmt.Sprintf("lock directory %s is open to other users (mode %04o): "+
			"make it private with chmod 700 %s, or %s", dir, fi.Mode().Perm(), dir, fix)
	}
	return fmt.Errorf("singleinstance: %s: %w: %w", why, ErrInsecureLockDir, err)
}

// lockFilePerm is the mode of lock files: readable and writable by their
// owner only, in every lock directory. Another user who could open a lock
// file could take a read lock on it and so make the name look held, and
// no other user ever needs it: lock files of another user are refused.
const lockFilePerm fs.FileMode = 0o600

// perm is the mode of the .pid file: readable by the owner only (0600),
// unless the directory lets other users in (a shared lock directory, asked
// for with WithLockDir or SINGLEINSTANCE_LOCK_DIR): then also readable by
// the group and by others as far as the directory lets them in. The
// private default directory is always mode 0700, so its files are 0600.
// The .info file, which holds the command line, is always 0600.
func (p paths) perm() fs.FileMode {
	perm := fs.FileMode(0o600)
	fi, err := os.Stat(p.dir)
	if err != nil {
		return perm
	}
	if fi.Mode()&0o010 != 0 {
		perm |= 0o040
	}
	if fi.Mode()&0o001 != 0 {
		perm |= 0o004
	}
	return perm
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
		return lockDirError(dir, err)
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
