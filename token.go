package singleinstance

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"slices"

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
	scope := dir
	if private {
		scope = ""
	}
	return nametoken.Key(os.Geteuid(), scope, name)
}

// tokenReleaseTries bounds how often claimToken tries again when the token
// is bound but no process of this user can be seen holding it: the last
// holder is dying, and the kernel closes its descriptors one by one.
const tokenReleaseTries = 200

// claimToken binds the name token for a caller that has just locked the
// lock file. It returns the bound token; or no token and no error where
// the platform has none or another user squats the name (logged); or the
// PIDs that hold it (possibly none visible) with ErrAlreadyRunning: a
// process of an earlier holder's tree still runs, holding a lock file that
// was deleted or replaced, so the caller must not go on.
func claimToken(key string, log *slog.Logger) (*os.File, []int, error) {
	for try := 0; ; try++ {
		tok, err := nametoken.Claim(key)
		switch {
		case err == nil:
			return tok, nil, nil
		case errors.Is(err, errors.ErrUnsupported):
			return nil, nil, nil
		case !errors.Is(err, nametoken.ErrTaken):
			return nil, nil, fmt.Errorf("singleinstance: name token: %w", err)
		}
		uid, ino, err := nametoken.Owner(key)
		switch {
		case errors.Is(err, os.ErrNotExist):
			continue // released meanwhile
		case err != nil:
			return nil, nil, fmt.Errorf("singleinstance: name token: %w", err)
		case uid != os.Geteuid():
			log.Warn("singleinstance: another user holds this lock's name token; "+
				"a holder whose lock file is deleted cannot be detected", "uid", uid)
			return nil, nil, nil
		}
		pids, _ := proc.Holders(ino, 0, 0)
		if len(pids) == 0 && try < tokenReleaseTries {
			runtime.Gosched()
			continue
		}
		return nil, pids, ErrAlreadyRunning
	}
}

// tokenHeld reports whether a process of this user holds the name token,
// and the token's socket inode if so.
func tokenHeld(key string) (held bool, ino uint64, err error) {
	bound, err := nametoken.Bound(key)
	if errors.Is(err, errors.ErrUnsupported) || err == nil && !bound {
		return false, 0, nil
	}
	if err != nil {
		return false, 0, fmt.Errorf("singleinstance: name token: %w", err)
	}
	uid, ino, err := nametoken.Owner(key)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return false, 0, nil
	case err != nil:
		return false, 0, fmt.Errorf("singleinstance: name token: %w", err)
	}
	return uid == os.Geteuid(), ino, nil
}

// describePIDs describes the first of pids that can still be looked up,
// for a conflict whose holder wrote no usable .info file.
func describePIDs(pids []int) *Holder {
	for _, pid := range slices.Clip(pids) {
		id, err := proc.Lookup(pid)
		if err != nil {
			continue
		}
		h := &Holder{PID: id.PID, StartID: id.StartID, BootID: id.BootID, PIDNamespace: id.PIDNamespace}
		h.Started, _ = proc.StartTime(id)
		h.Argv, _ = proc.Cmdline(pid)
		return h
	}
	return nil
}
