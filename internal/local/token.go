package local

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"github.com/singleinstance/singleinstance/internal/nametoken"
	"github.com/singleinstance/singleinstance/internal/proc"
)

// The name token is a second kernel-held proof of a running holder, kept
// beside the file lock (see package nametoken). A holder binds it right
// after it takes the file lock and passes it, like the lock, to the command
// it starts. Its key depends on the user and the name, and on the lock
// directory unless that is the user's default, so that every start of a
// program finds it even if the default directory, or every file in it,
// vanished while the holder ran.

// tokenKey returns the key of the name token for name in dir.
func tokenKey(dir string, private bool, name string) string {
	return nametoken.Key(os.Geteuid(), tokenScope(dir, private), name)
}

// tokenScope is the lock directory as the token knows it: "" for the
// user's default directory, whichever of its candidates a start chose (or
// another spelling of one), else the directory as it was given (cleaned),
// symbolic links not resolved. A program started with the same lock
// directory finds the token even where that path now leads elsewhere: a
// "current" link re-pointed to another release's directory while a holder
// runs on the old one would otherwise give a newcomer a lock file and a
// token of its own, and two holders. Another spelling of the same
// directory shares the lock file itself instead, and a holder of a deleted
// one is found by its kernel-given path (see deletedLockHolders).
//
// A directory is a default candidate if it is the same directory (one
// look at each), or, while it does not exist, if it is spelled the same.
// Neither can be unless the directory's own name is a candidate's (a
// default directory is never a symbolic link): most directories are told
// apart by their name alone.
func tokenScope(dir string, private bool) string {
	if private {
		return ""
	}
	given := filepath.Clean(dir)
	defaults := defaultLockDirs()
	if !slices.ContainsFunc(defaults, func(d string) bool { return filepath.Base(d) == filepath.Base(given) }) {
		return given
	}
	fi, err := os.Stat(dir)
	for _, d := range defaults {
		if err != nil {
			if given == filepath.Clean(d) {
				return ""
			}
		} else if dfi, derr := os.Stat(d); derr == nil && os.SameFile(fi, dfi) {
			return ""
		}
	}
	return given
}

// A token can be bound while nothing holds the name: by a holder that is
// exiting (the kernel closes a dying process's descriptors one by one, the
// lock file's first), by a fork of a releasing process that has not yet
// called exec, or by a process that let go of the lock but not of the
// token. claimToken tries again claimSpins times, then looks for the
// holders claimRounds times, a millisecond apart.
const (
	claimSpins  = 50
	claimRounds = 20
)

// claimToken binds the name token for a caller that has just locked the
// lock file named base. It returns the bound token; or no token and no
// error where the platform has none, another user squats the name
// (logged), or processes that hold nothing keep it bound (the caller then
// goes on without one); or the PIDs of the processes that hold the name
// through the token, with ErrAlreadyRunning: a process of an earlier
// holder's tree still runs, holding a lock file that was deleted or
// replaced, so the caller must not go on.
func claimToken(key, base string, log *slog.Logger) (*os.File, []int, error) {
	for round := 0; round < claimRounds; round++ {
		for range claimSpins {
			tok, err := nametoken.Claim(key)
			switch {
			case err == nil:
				return tok, nil, nil
			case errors.Is(err, errors.ErrUnsupported):
				return nil, nil, nil
			case !errors.Is(err, nametoken.ErrTaken):
				return nil, nil, fmt.Errorf("singleinstance: name token: %w", err)
			}
			runtime.Gosched()
		}
		ino, uid, err := tokenOwner(key)
		switch {
		case err != nil:
			return nil, nil, err
		case uid < 0:
			continue // released meanwhile
		case ino == 0:
			log.Warn("singleinstance: another user holds this lock's name token; "+
				"a holder whose lock file is deleted cannot be detected", "uid", uid)
			return nil, nil, nil
		}
		if pids, _ := proc.Holders(tokenLock(base, ino)); len(pids) > 0 {
			return nil, pids, ErrAlreadyRunning
		}
		time.Sleep(time.Millisecond)
	}
	log.Debug("singleinstance: the name token stays bound by processes that hold no lock; going on without it")
	return nil, nil, nil
}

// tokenHeld reports whether processes of this user hold the name through
// its token (see proc.Holders), and the token's socket inode if it is
// bound by this user.
func tokenHeld(key, base string) (held bool, ino uint64, err error) {
	bound, err := nametoken.Bound(key)
	if errors.Is(err, errors.ErrUnsupported) || err == nil && !bound {
		return false, 0, nil
	}
	if err != nil {
		return false, 0, fmt.Errorf("singleinstance: name token: %w", err)
	}
	ino, _, err = tokenOwner(key)
	if err != nil || ino == 0 {
		return false, 0, err
	}
	pids, err := proc.Holders(tokenLock(base, ino))
	return err == nil && len(pids) > 0, ino, nil
}

// tokenLock is what a process holds the name by through its token alone
// in sight: the token (the socket with inode sock) together with a lock
// file named base, or a held lock file under another name (see
// proc.Holders).
func tokenLock(base string, sock uint64) proc.NameLock {
	return proc.NameLock{Base: base, Sock: sock, HeldRecord: heldLockFile}
}

// tokenOwner asks who bound the name token: the socket's inode if it is a
// process of this user, else 0; and the creator's user ID, or -1 if nothing
// (or, on this platform, no token) is bound.
func tokenOwner(key string) (ino uint64, uid int, err error) {
	uid, ino, err = nametoken.Owner(key)
	switch {
	case errors.Is(err, os.ErrNotExist), errors.Is(err, errors.ErrUnsupported):
		return 0, -1, nil
	case err != nil:
		return 0, -1, fmt.Errorf("singleinstance: name token: %w", err)
	case uid != os.Geteuid():
		return 0, uid, nil
	}
	return ino, uid, nil
}

// describePIDs describes the first of pids that can still be looked up,
// for a conflict whose holder wrote no usable .info file.
func describePIDs(pids []int) *Record {
	for _, pid := range slices.Clip(pids) {
		id, err := proc.Lookup(pid)
		if err != nil {
			continue
		}
		h := &Record{PID: id.PID, StartID: id.StartID, BootID: id.BootID, PIDNamespace: id.PIDNamespace}
		h.Started, _ = proc.StartTime(id)
		h.Argv, _ = proc.Cmdline(pid)
		return h
	}
	return nil
}
