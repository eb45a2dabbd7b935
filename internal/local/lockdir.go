package local

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/singleinstance/singleinstance/internal/safefs"
)

// LockDirEnv is the environment variable that overrides DefaultDir.
const LockDirEnv = "SINGLEINSTANCE_LOCK_DIR"

// DefaultDir is the lock directory private to the calling user (see the
// root package's DefaultLockDir).
func DefaultDir() (string, error) { return defaultLockDir() }

// CheckDir checks, creating and changing nothing, that the lock directory
// can be used as every call would: the private default directory, if it
// exists, must be private to the user (ErrInsecureLockDir).
func (s *Store) CheckDir() error {
	if s.private {
		if err := checkLockDir(s.dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
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

// resolveDir resolves the lock directory from the option and the
// environment, and whether it is the private default.
func resolveDir(dir string) (_ string, private bool, err error) {
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
	_, err := lockDirPidPerm(dir, private)
	return err
}

// lockDirPidPerm is prepareLockDir, returning the mode of the .pid files
// the directory gets: readable by the owner only (0600), unless the
// directory lets other users in (a shared lock directory, asked for with
// WithLockDir or SINGLEINSTANCE_LOCK_DIR): then also readable by the group
// and by others as far as the directory lets them in. The private default
// directory is always mode 0700, so its files are 0600. The .info file,
// which holds the command line, is always 0600.
func lockDirPidPerm(dir string, private bool) (fs.FileMode, error) {
	perm := fs.FileMode(0o600)
	var err error
	if private {
		err = safefs.EnsurePrivateDir(dir)
	} else {
		var fi fs.FileInfo
		if fi, err = safefs.EnsureDir(dir); err == nil {
			if fi.Mode()&0o010 != 0 {
				perm |= 0o040
			}
			if fi.Mode()&0o001 != 0 {
				perm |= 0o004
			}
		}
	}
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			// Something that is not a directory, such as a dangling
			// symbolic link, is in the way.
			return 0, fmt.Errorf("singleinstance: lock directory %s: %w: %w", dir, ErrLockDirUnusable, err)
		}
		return 0, lockDirError(dir, err)
	}
	return perm, nil
}

// paths are the files of one lock name.
type paths struct {
	dir, lock, pid, info string
}

func pathsFor(dir, name string) paths {
	base := filepath.Join(dir, name)
	return paths{dir: dir, lock: base + ".lock", pid: base + ".pid", info: base + ".info"}
}
