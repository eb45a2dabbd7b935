package singleinstance

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/singleinstance/singleinstance/internal/filelock"
	"github.com/singleinstance/singleinstance/internal/proc"
	"github.com/singleinstance/singleinstance/internal/safefs"
)

// KillRunning stops the process that holds the lock called name: SIGTERM,
// or SIGKILL if force is set (on Windows, TerminateProcess either way). It
// is KillRunningContext with context.Background().
func KillRunning(name string, force bool, opts ...Option) (bool, error) {
	return KillRunningContext(context.Background(), name, force, opts...)
}

// KillRunningContext stops the process that holds the lock called name and
// waits, up to WithStopTimeout (default 10s) and while ctx is not done,
// until the lock is free or held by a new holder.
//
// It signals only a process it has proven to be the current holder: the
// lock is held; the lock file's record and the .info file name the same
// acquisition; the process with the recorded PID has the recorded start
// time, boot and PID namespace; and, on Linux, the kernel lists a lock on
// the lock file among that process's open files. The signal is sent
// through a pidfd (Linux), so a PID reused after the proof is never hit.
// If any step fails it signals nothing and returns an error matching
// ErrHolderUnproven or ErrHolderNotVisible.
//
// It returns false, nil if nothing held the lock; true, nil once the holder
// has released it; and false with an error matching ErrStopTimeout if the
// lock was still held when the wait ended.
//
// With WithBackend the holder may run on another machine: KillRunning asks
// it to stop through the backend (Instance.StopRequested; Run cancels its
// context) and waits the same way. With force, a holder that has not
// stopped when the wait ends loses the lock in a way that lets no one else
// take it before that holder's Lost has fired.
func KillRunningContext(ctx context.Context, name string, force bool, opts ...Option) (bool, error) {
	cfg := newConfig(opts)
	if cfg.backend != nil {
		if err := ValidateName(name); err != nil {
			return false, err
		}
		return cfg.backend.Stop(ctx, name, force, cfg.stopTimeout)
	}
	r, h, err := proveHolder(ctx, name, cfg)
	if r == nil || !r.state.Running {
		return false, err
	}
	// Without a proven .info file, the kernel's list of holding processes
	// is enough if the .info file is gone (a cleaner deleted it) or names
	// a process that has exited (the command, whose tree still runs). A
	// damaged one, or one that names a live process that holds nothing,
	// was tampered with, and then nothing is signalled.
	if err != nil && (len(r.state.Holding) == 0 || r.holderErr != nil || describesLiveProcess(r.state.Holder)) {
		return false, err
	}
	sig := "SIGTERM"
	if force {
		sig = "SIGKILL"
	}
	s := &stopper{name: name, force: force, log: cfg.logger, signalled: map[int]uint64{}, lastLook: time.Now()}
	if err := s.signalTree(r, h); err != nil {
		if again, perr := probe(name, cfg, false); perr == nil && !again.state.Running {
			return false, nil // it released the lock meanwhile
		}
		return false, err
	}
	if cfg.stopTimeout == 0 {
		// Not waiting: success only if the name is free already.
		if done, err := released(r.paths.lock, token0(r, h)); err == nil && done {
			return true, nil
		}
		return false, fmt.Errorf("singleinstance: %q (pid %s) was sent %s and not waited for; it still holds the lock: %w",
			name, s.pids(), sig, ErrStopTimeout)
	}
	if cfg.stopTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.stopTimeout)
		defer cancel()
	}
	if err := waitReleased(ctx, r.paths.lock, r.tokenKey, token0(r, h), s.again); err != nil {
		return false, fmt.Errorf("singleinstance: %q (pid %s) was sent %s but still holds the lock: %w: %w",
			name, s.pids(), sig, ErrStopTimeout, err)
	}
	return true, nil
}

// token0 is the fencing token of the acquisition being stopped.
func token0(r *probeResult, h *Holder) uint64 {
	if h != nil {
		return h.Token
	}
	return r.record.token
}

// describesLiveProcess reports whether h names a process that still runs,
// or one that cannot be looked up from here.
func describesLiveProcess(h *Holder) bool {
	if h == nil {
		return false
	}
	alive, err := proc.Alive(h.identity())
	return err != nil || alive
}

// settleTime bounds how long KillRunning waits for a holder that is still
// writing its .info file, or restoring a deleted lock file, to describe
// itself before it gives up with ErrHolderUnproven.
const settleTime = 2 * time.Second

// proveHolder probes name until its holder is proven, nothing holds it
// (nil holder, nil error), or settleTime has passed.
func proveHolder(ctx context.Context, name string, cfg *config) (*probeResult, *Holder, error) {
	deadline := time.Now().Add(settleTime)
	for {
		r, err := probe(name, cfg, true)
		if err != nil || !r.state.Running {
			return r, nil, err
		}
		h, err := provenHolder(r)
		// A damaged .info file will not heal; a missing or outdated one
		// may be rewritten in a moment. Where the kernel names the
		// holding processes, the .info file is not needed.
		if err == nil || !errors.Is(err, ErrHolderUnproven) || r.holderErr != nil ||
			len(r.state.Holding) > 0 && !describesLiveProcess(r.state.Holder) || time.Now().After(deadline) {
			return r, h, err
		}
		if err := sleepCtx(ctx, 5*time.Millisecond); err != nil {
			return r, nil, err
		}
	}
}

// provenHolder returns the holder described by the .info file if it can be
// proven to hold the lock now.
func provenHolder(r *probeResult) (*Holder, error) {
	h := r.state.Holder
	if h == nil {
		why := "no .info file"
		if r.state.HolderError != "" {
			why = r.state.HolderError
		}
		return nil, fmt.Errorf("singleinstance: %q is running, but %w: %s", r.state.Name, ErrHolderUnproven, why)
	}
	if !r.recordMatches {
		return nil, fmt.Errorf("singleinstance: %q is running, but %w: the .info file (pid %d) does not describe the current lock holder",
			r.state.Name, ErrHolderUnproven, h.PID)
	}
	id := h.identity()
	visible, err := proc.Visible(id)
	if err != nil {
		return nil, fmt.Errorf("singleinstance: identify this process: %w", err)
	}
	if !visible {
		return nil, fmt.Errorf("singleinstance: %q is running as pid %d in another PID namespace or boot: %w",
			r.state.Name, h.PID, ErrHolderNotVisible)
	}
	alive, err := proc.Alive(id)
	if err != nil {
		return nil, fmt.Errorf("singleinstance: look up pid %d: %w", h.PID, err)
	}
	if !alive {
		return nil, fmt.Errorf("singleinstance: %q is running, but %w: pid %d is gone or belongs to another process",
			r.state.Name, ErrHolderUnproven, h.PID)
	}
	holds, err := holdsLock(h, r.lockDev, r.lockIno, r.nameLock())
	switch {
	case errors.Is(err, errors.ErrUnsupported):
		// No kernel view of locks: the record check above is the proof.
	case err != nil:
		return nil, fmt.Errorf("singleinstance: %q is running, but %w: cannot inspect pid %d: %w",
			r.state.Name, ErrHolderUnproven, h.PID, err)
	case !holds:
		return nil, fmt.Errorf("singleinstance: %q is running, but %w: pid %d holds no lock on %s",
			r.state.Name, ErrHolderUnproven, h.PID, r.paths.lock)
	}
	return h, nil
}

// holdsLock asks the kernel whether h's process holds the lock file with
// device dev and inode ino. A command started by a wrapper with
// StartCommand may have closed the descriptor it inherited; then the
// wrapper, recorded as owner, must hold the lock and be the command's
// parent.
func holdsLock(h *Holder, dev, ino uint64, l proc.NameLock) (bool, error) {
	holds, err := proc.HoldsLock(h.identity(), dev, ino)
	if holds || errors.Is(err, errors.ErrUnsupported) {
		return holds, err
	}
	if l.Sock != 0 && err == nil {
		// A process of the tree that holds a lock file the path no longer
		// names, with the name token.
		if t, terr := proc.Holds(h.PID, l); terr == nil && t {
			if alive, aerr := proc.Alive(h.identity()); aerr == nil && alive {
				return true, nil
			}
		}
	}
	owner, ok := h.ownerIdentity()
	if !ok {
		return holds, err
	}
	ownerHolds, oerr := proc.HoldsLock(owner, dev, ino)
	if oerr != nil || !ownerHolds {
		return holds, err
	}
	ppid, perr := proc.ParentPID(context.Background(), h.identity())
	if perr != nil || ppid != owner.PID {
		return holds, err
	}
	return true, nil
}

// waitReleased waits until the lock at path is free or held under a token
// other than token, and no process of this user holds the name token key
// for the old holder. Each time it finds the lock still held it calls
// again, which stops any process that has joined the holders meanwhile.
func waitReleased(ctx context.Context, path, key string, token uint64, again func()) error {
	w, err := filelock.Watch(path)
	if err != nil {
		w = nil
	} else {
		defer w.Close()
	}
	for {
		done, err := released(path, token)
		if err != nil {
			return err
		}
		if done {
			// The file lock is free or has a new holder; the name token
			// outlives a dying holder's lock by a few instructions.
			held, err := tokenHeldBy(key, path, token)
			if err != nil {
				return err
			}
			if !held {
				return nil
			}
			if err := sleepCtx(ctx, time.Millisecond); err != nil {
				return err
			}
			continue
		}
		again()
		if w != nil {
			err = w.Wait(ctx, fallbackWake)
		} else {
			err = sleepCtx(ctx, 10*time.Millisecond)
		}
		if err != nil {
			return err
		}
	}
}

// tokenHeldBy reports whether the name token is held for the acquisition
// with token: it is held and the lock at path is not held under another
// token (a new holder holds the token for itself).
func tokenHeldBy(key, path string, token uint64) (bool, error) {
	held, _, err := tokenHeld(key, filepath.Base(path))
	if err != nil || !held {
		return false, err
	}
	f, err := safefs.OpenExisting(path)
	if err != nil {
		return true, nil
	}
	defer f.Close()
	locked, err := filelock.IsLocked(f)
	if err != nil || !locked {
		return true, nil
	}
	rec := readRecord(f)
	return !(rec.held && rec.token != token), nil
}

func released(path string, token uint64) (bool, error) {
	f, err := safefs.OpenExisting(path)
	if errors.Is(err, os.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	locked, err := filelock.IsLocked(f)
	if err != nil {
		return false, err
	}
	if !locked {
		return true, nil
	}
	rec := readRecord(f)
	return rec.held && rec.token != token, nil
}
