package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/singleinstance/singleinstance/internal/filelock"
	"github.com/singleinstance/singleinstance/internal/safefs"
)

// Stop stops the holder of name: SIGTERM, or with force SIGKILL, which no
// process can ignore. It signals the proven holder and every process the
// kernel shows holding the lock or the name token, except the wrapper
// that started the holder, and never a waiter. Then it waits until the
// lock is free or held by a new holder: not at all if wait is zero, as
// long as ctx allows if wait is negative.
//
// It returns false, nil if nothing held the lock; an error matching
// ErrHolderUnproven or ErrHolderNotVisible, having signalled nothing, if
// the holder could not be proven; and an error matching ErrStopTimeout if
// the lock was still held when the wait ended.
func (s *Store) Stop(ctx context.Context, name string, force bool, wait time.Duration) (bool, error) {
	deadline := time.Now().Add(settleTime)
	var (
		r     *probeResult
		h     *Record
		st    *stopper
		first acquisition // the one being stopped
	)
	for look := 0; ; look++ {
		var err error
		r, h, err = s.settleHolder(ctx, name, &first, look == 0)
		if errors.Is(err, errPassedOn) {
			// The holder let go while this stop looked, and the name has a
			// new holder, which this stop must never hit.
			s.log.Debug("singleinstance: the holder let go and the name passed on; nothing stopped", "name", name)
			return false, nil
		}
		if r == nil || !r.state.Running {
			return false, err
		}
		// Without a proven .info file, the kernel's list of holding
		// processes is enough if the .info file is gone (a cleaner deleted
		// it) or names a process that has exited (the command, whose tree
		// still runs). A damaged one, or one that names a live process that
		// holds nothing, was tampered with, and then nothing is signalled.
		if err != nil && (len(r.state.Holding) == 0 || r.holderErr != nil || describesLiveProcess(r.state.Holder)) {
			return false, err
		}
		st = &stopper{name: name, force: force, log: s.log, signalled: map[int]uint64{}, lastLook: time.Now()}
		err = st.signalTree(r, h)
		if err == nil {
			break
		}
		if again, perr := s.probe(name, 0); perr == nil && !again.state.Running {
			return false, nil // it released the lock meanwhile
		}
		// A holder that is exiting has closed its descriptors a moment
		// before the kernel frees its lock, and a name handed to the next
		// holder is undescribed for a moment: then no process shows, and a
		// second look soon finds the lock free or its new holder.
		if !errors.Is(err, errNoneVisible) || !first.known() || time.Now().After(deadline) {
			return false, err
		}
		s.log.Debug("singleinstance: the lock is held, but no holding process shows; looking again", "name", name)
		if err := sleepCtx(ctx, 5*time.Millisecond); err != nil {
			return false, err
		}
	}
	sig := "SIGTERM"
	if force {
		sig = "SIGKILL"
	}
	if wait == 0 {
		// Not waiting: success only if the name is free already.
		if done, err := released(r.paths.lock, token0(r, h)); err == nil && done && !st.holding() && !st.signalHandedOn() {
			return true, nil
		}
		return false, fmt.Errorf("singleinstance: %q (pid %s) was sent %s and not waited for; it still holds the lock: %w",
			name, st.pids(), sig, ErrStopTimeout)
	}
	if wait > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, wait)
		defer cancel()
	}
	err := waitReleased(ctx, r.paths.lock, r.tokenKey, token0(r, h), st.again)
	if err == nil {
		err = st.awaitLetGo(ctx)
	}
	if err != nil {
		return false, fmt.Errorf("singleinstance: %q (pid %s) was sent %s but still holds the lock: %w: %w",
			name, st.pids(), sig, ErrStopTimeout, err)
	}
	return true, nil
}

// An acquisition is what tells one acquisition of a name from the next,
// as a look at the lock found it: the fencing token of a "held" record,
// and the inode of the name token's socket; zero where unknown.
type acquisition struct{ token, sock uint64 }

func (r *probeResult) acquisition() acquisition {
	a := acquisition{sock: r.sockIno}
	if r.record.held {
		a.token = r.record.token
	}
	return a
}

// known reports whether a names its acquisition at all.
func (a acquisition) known() bool { return a.token != 0 || a.sock != 0 }

// differs reports whether b, a later look, shows another acquisition than
// a: something known of both differs.
func (a acquisition) differs(b acquisition) bool {
	return a.token != 0 && b.token != 0 && a.token != b.token ||
		a.sock != 0 && b.sock != 0 && a.sock != b.sock
}

// matches reports whether b shows the acquisition a showed: it does not
// differ, and something known of both is equal.
func (a acquisition) matches(b acquisition) bool {
	return !a.differs(b) && (a.token != 0 && a.token == b.token || a.sock != 0 && a.sock == b.sock)
}

// token0 is the fencing token of the acquisition being stopped.
func token0(r *probeResult, h *Record) uint64 {
	if h != nil {
		return h.Token
	}
	return r.record.token
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
	f, _, err := safefs.OpenExisting(path)
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
	f, _, err := safefs.OpenExisting(path)
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
