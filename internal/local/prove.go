package local

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/singleinstance/singleinstance/internal/proc"
)

// describesLiveProcess reports whether h names a process that still runs,
// or one that cannot be looked up from here.
func describesLiveProcess(h *Record) bool {
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

// errPassedOn: the acquisition a stop began with has ended, and the name
// has a new holder.
var errPassedOn = errors.New("the holder let go and the name passed on")

// settleHolder probes name until its holder is proven, nothing holds it
// (nil holder, nil error), or settleTime has passed. The first look of a
// stop (pin) records in first which acquisition it found; every later look
// must show that one, or settleHolder returns errPassedOn: a holder that
// let go while the stop waited for it to describe itself has passed the
// name on, and the stop must not take the next holder for it. A look that
// cannot tell whose the lock is tries again.
func (s *Store) settleHolder(ctx context.Context, name string, first *acquisition, pin bool) (*probeResult, *Record, error) {
	deadline := time.Now().Add(settleTime)
	waiting := false
	for {
		r, err := s.probe(name, readInfo)
		if err != nil || !r.state.Running {
			return r, nil, err
		}
		switch now := r.acquisition(); {
		case pin:
			*first, pin = now, false
		case first.differs(now):
			return r, nil, errPassedOn
		case first.known() && !first.matches(now):
			if time.Now().After(deadline) {
				return r, nil, fmt.Errorf("singleinstance: %q is running, but %w: its holder cannot be told from the next", name, ErrHolderUnproven)
			}
			if err := sleepCtx(ctx, 5*time.Millisecond); err != nil {
				return r, nil, err
			}
			continue
		}
		h, err := verifyHolder(r)
		// A damaged .info file will not heal; a missing or outdated one
		// may be rewritten in a moment. Where the kernel names the
		// holding processes, the .info file is not needed.
		if err == nil || !errors.Is(err, ErrHolderUnproven) || errors.Is(err, ErrHolderNotVisible) || r.holderErr != nil ||
			len(r.state.Holding) > 0 && !describesLiveProcess(r.state.Holder) || time.Now().After(deadline) {
			return r, h, err
		}
		if !waiting {
			waiting = true
			s.log.Debug("singleinstance: waiting for the holder to describe itself", "name", name, "why", err)
		}
		if err := sleepCtx(ctx, 5*time.Millisecond); err != nil {
			return r, nil, err
		}
	}
}

// verifyHolder returns the holder described by the .info file if it can be
// proven to hold the lock now.
func verifyHolder(r *probeResult) (*Record, error) {
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
	dev, ino := r.lockDev, r.lockIno
	linked, foreign := r.linkedElsewhere(), r.foreign()
	if linked || foreign {
		// Its lock ties no holder to the name: only the name token can.
		dev, ino = 0, 0
	}
	holds, err := holdsLock(h, dev, ino, r.nameLock())
	switch {
	case linked && (!holds || err != nil):
		return nil, fmt.Errorf("singleinstance: %q is running, but %w: its lock file %s has %d links, so the lock on it may be another lock's, and pid %d does not hold the name token",
			r.state.Name, ErrHolderUnproven, r.paths.lock, r.pathLinks, h.PID)
	case foreign && (!holds || err != nil):
		return nil, fmt.Errorf("singleinstance: %q is running, but %w: its lock file %s was written for another lock name (renamed there?), so the lock on it is another lock's, and pid %d does not hold the name token",
			r.state.Name, ErrHolderUnproven, r.paths.lock, h.PID)
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

// holdsWithToken reports whether the process id holds the name token of l
// with a lock file of the name (one the path may no longer name, or one
// that has another link too), and is still that process.
func holdsWithToken(id proc.Identity, l proc.NameLock) bool {
	if l.Sock == 0 {
		return false
	}
	t, err := proc.Holds(id.PID, l)
	if err != nil || !t {
		return false
	}
	alive, err := proc.Alive(id)
	return err == nil && alive
}

// holdsLock asks the kernel whether h's process holds the lock file with
// device dev and inode ino. A command started by a wrapper with
// StartCommand may have closed the descriptor it inherited; then the
// wrapper, recorded as owner, must hold the lock and be the command's
// parent. Either may instead hold the name token with a lock file of the
// name (see holdsWithToken): the only proof where the file at the path
// has another link too (see linkedElsewhere), dev and ino then being 0.
func holdsLock(h *Record, dev, ino uint64, l proc.NameLock) (bool, error) {
	holds, err := proc.HoldsLock(h.identity(), dev, ino)
	if holds || errors.Is(err, errors.ErrUnsupported) {
		return holds, err
	}
	if err == nil && holdsWithToken(h.identity(), l) {
		return true, nil
	}
	owner, ok := h.ownerIdentity()
	if !ok {
		return holds, err
	}
	ownerHolds, oerr := proc.HoldsLock(owner, dev, ino)
	if oerr == nil && !ownerHolds {
		ownerHolds = holdsWithToken(owner, l)
	}
	if oerr != nil || !ownerHolds {
		return holds, err
	}
	ppid, perr := proc.ParentPID(context.Background(), h.identity())
	if perr != nil || ppid != owner.PID {
		return holds, err
	}
	return true, nil
}
