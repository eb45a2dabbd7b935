package local

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
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

// A name has nametoken.Slots name tokens, of which a holder binds the
// first it finds free. A token can be bound while nothing holds the name:
// by a holder that is exiting (the kernel closes a dying process's
// descriptors one by one, the lock file's first), by a fork of a
// releasing process that has not yet called exec, by a process that let
// go of the lock but not of the token, or by a wrapper that is stopped
// (SIGSTOP) after its command's tree has gone. A holder that went on
// without a token would show its tree only through its lock file: a tree
// that unlocked that (see proc.Holders) would be seen by nobody, and a
// newcomer would start beside it. So a newcomer that finds a token bound
// by processes that hold nothing binds the next one. Each bound token
// whose processes hold the name shows a holder, and a newcomer looks at
// every token after it has bound its own, so that of two that bind two
// tokens at once (each holding a different lock file of the name) at
// least one sees the other. Only if every token stays bound by such
// processes, or by another user, does a holder go on without one.

// A token bound by a holder that is exiting is let go a few instructions
// after its lock: claimSlot tries again claimSpins times before it looks
// for the token's holders. A token let go between those looks is tried
// again, at most claimRounds times.
const (
	claimSpins  = 50
	claimRounds = 20
)

// claimToken binds a name token for a caller that has just locked the
// lock file named base. It returns the bound token; or no token and no
// error where the platform has none, or every token stays bound by
// processes that hold nothing or by another user (logged); or the PIDs of
// the processes that hold the name through a token, with
// ErrAlreadyRunning: a process of an earlier holder's tree still runs,
// holding a lock file that was deleted, replaced or unlocked, so the
// caller must not go on.
func claimToken(key, base string, log *slog.Logger) (*os.File, []int, error) {
	squatter := -1
	for slot := range nametoken.Slots {
		tok, pids, uid, err := claimSlot(nametoken.SlotKey(key, slot), base, log)
		if uid >= 0 {
			squatter = uid
		}
		switch {
		case errors.Is(err, errors.ErrUnsupported):
			return nil, nil, nil
		case err != nil:
			return nil, pids, err
		case tok == nil:
			continue
		}
		// Every other token, looked at only now that this one is bound:
		// a newcomer that binds another at the same moment then sees
		// this one, or this one sees it.
		inos, err := boundTokens(key, tok, slot)
		if err == nil {
			pids, _ = firstHeldToken(base, inos)
		}
		if err != nil || len(pids) > 0 {
			tok.Close()
			if err != nil {
				return nil, nil, err
			}
			return nil, pids, ErrAlreadyRunning
		}
		return tok, nil, nil
	}
	if squatter >= 0 {
		log.Warn("singleinstance: another user holds this lock's name tokens; "+
			"a holder whose lock file is deleted cannot be detected", "uid", squatter)
	} else {
		log.Debug("singleinstance: every name token is bound by processes that hold no lock; going on without one")
	}
	return nil, nil, nil
}

// claimSlot binds the name token key. It returns the bound token; or the
// PIDs of the processes that hold the name through it, with
// ErrAlreadyRunning; or nothing where the platform has no token (an error
// wrapping errors.ErrUnsupported), and where processes that hold nothing,
// or another user (whose ID squatter then is), keep it bound (no error).
func claimSlot(key, base string, log *slog.Logger) (tok *os.File, pids []int, squatter int, err error) {
	for range claimRounds {
		for range claimSpins {
			tok, err := nametoken.Claim(key)
			switch {
			case err == nil:
				return tok, nil, -1, nil
			case errors.Is(err, errors.ErrUnsupported):
				return nil, nil, -1, err
			case !errors.Is(err, nametoken.ErrTaken):
				return nil, nil, -1, fmt.Errorf("singleinstance: name token: %w", err)
			}
			runtime.Gosched()
		}
		ino, uid, err := tokenOwner(key)
		switch {
		case err != nil:
			return nil, nil, -1, err
		case uid < 0:
			continue // let go meanwhile
		case ino == 0:
			return nil, nil, uid, nil
		}
		if pids, _ := proc.Holders(tokenLock(base, ino)); len(pids) > 0 {
			return nil, pids, -1, ErrAlreadyRunning
		}
		log.Debug("singleinstance: a name token is bound by processes that hold no lock; trying the next", "token", key)
		return nil, nil, -1, nil
	}
	return nil, nil, -1, nil
}

// boundTokens returns the socket inodes of the name's tokens (the first
// of which is key) that processes of this user bind, by slot; 0 for one
// that nothing, or another user, binds. It asks through via, the caller's
// own token in slot skip, if via is not nil (see nametoken.BoundEach).
func boundTokens(key string, via *os.File, skip int) (inos [nametoken.Slots]uint64, err error) {
	keys, slots := make([]string, 0, nametoken.Slots), make([]int, 0, nametoken.Slots)
	for slot := range nametoken.Slots {
		if slot != skip || via == nil {
			keys, slots = append(keys, nametoken.SlotKey(key, slot)), append(slots, slot)
		}
	}
	bound, err := nametoken.BoundEach(via, keys)
	if errors.Is(err, errors.ErrUnsupported) {
		return inos, nil
	}
	if err != nil {
		return inos, fmt.Errorf("singleinstance: name token: %w", err)
	}
	for i, b := range bound {
		if b {
			if inos[slots[i]], _, err = tokenOwner(keys[i]); err != nil {
				return inos, err
			}
		}
	}
	return inos, nil
}

// firstHeldToken returns the processes that hold the name through the
// first of the tokens inos that any process holds it through, and that
// token's socket inode.
func firstHeldToken(base string, inos [nametoken.Slots]uint64) ([]int, uint64) {
	for _, ino := range inos {
		if ino == 0 {
			continue
		}
		if pids, _ := proc.Holders(tokenLock(base, ino)); len(pids) > 0 {
			return pids, ino
		}
	}
	return nil, 0
}

// tokenHeld reports whether processes of this user hold the name through
// one of its tokens (see proc.Holders), and that token's socket inode.
func tokenHeld(key, base string) (held bool, ino uint64, err error) {
	inos, err := boundTokens(key, nil, -1)
	if err != nil {
		return false, 0, err
	}
	pids, ino := firstHeldToken(base, inos)
	return len(pids) > 0, ino, nil
}

// holderToken returns the socket inode of the name token that the holder
// of the lock file at the path binds, where it can be told: the only token
// of the name this user binds, or else the one whose processes hold the
// name; 0 if none.
func holderToken(key, base string) uint64 {
	inos, err := boundTokens(key, nil, -1)
	if err != nil {
		return 0
	}
	var only uint64
	for _, ino := range inos {
		if ino != 0 {
			if only != 0 {
				_, held := firstHeldToken(base, inos)
				return held
			}
			only = ino
		}
	}
	return only
}

// tokenLock is what a process holds the name by through its token alone
// in sight: the token (the socket with inode sock) together with a lock
// file named base, or a held lock file under another name (see
// proc.Holders).
func tokenLock(base string, sock uint64) proc.NameLock {
	return proc.NameLock{Base: base, Sock: sock, HeldRecord: heldLockFile(base)}
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
