package singleinstance

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/singleinstance/singleinstance/internal/proc"
)

// CheckRunning reports whether a process holds the lock called name. It is
// CheckRunningContext with context.Background().
func CheckRunning(name string, opts ...Option) (bool, error) {
	return CheckRunningContext(context.Background(), name, opts...)
}

// CheckRunningContext reports whether a process holds the lock called
// name. It takes no lock and creates, changes or removes no file; a missing
// lock directory or lock file means not running. It never reports a dead
// process, or an unrelated process that reuses a recorded PID, as running:
// only the kernel's lock counts. The error is non-nil when it could not
// tell (bad name, unreadable or insecure lock directory; with WithBackend,
// an unreachable backend, matching ErrUnavailable).
func CheckRunningContext(ctx context.Context, name string, opts ...Option) (bool, error) {
	if err := ValidateName(name); err != nil {
		return false, err
	}
	b, err := newConfig(opts).lockBackend()
	if err != nil {
		return false, err
	}
	if c, ok := b.(runningChecker); ok {
		return c.Running(ctx, name)
	}
	s, err := b.Status(ctx, name)
	if err != nil {
		return false, err
	}
	return s.Running, nil
}

// Status reports the state of the lock called name: whether it is held,
// and by whom. It is StatusContext with context.Background().
func Status(name string, opts ...Option) (*State, error) {
	return StatusContext(context.Background(), name, opts...)
}

// StatusContext reports the state of the lock called name: whether it is
// held, and by whom. Like CheckRunning it changes nothing. With
// WithLiveStats (the default) it also reads the holder's live process
// figures when the holder is visible from here.
func StatusContext(ctx context.Context, name string, opts ...Option) (*State, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	cfg := newConfig(opts)
	b, err := cfg.lockBackend()
	if err != nil {
		return nil, err
	}
	s, err := b.Status(ctx, name)
	if err != nil {
		return nil, err
	}
	if s.Holder != nil && s.Running {
		s.Visible, s.Exited, s.Process = observe(ctx, s.Holder, cfg.liveStats)
	}
	return s, nil
}

// List reports the state of every lock name in the lock directory (names
// with a .lock, .pid or .info file) or the Backend (names it holds or has
// a record for), sorted by name, without live process figures. An entry of
// the lock directory that cannot be examined is listed with State.Error.
// A Backend that cannot list (see Lister) fails with an error matching
// errors.ErrUnsupported.
func List(ctx context.Context, opts ...Option) ([]*State, error) {
	b, err := newConfig(opts).lockBackend()
	if err != nil {
		return nil, err
	}
	l, ok := b.(Lister)
	if !ok {
		return nil, fmt.Errorf("singleinstance: %s cannot list its locks: %w", b, errors.ErrUnsupported)
	}
	states, err := l.List(ctx)
	if err != nil {
		return nil, err
	}
	for _, s := range states {
		if s.Holder != nil && s.Running {
			s.Visible, s.Exited, s.Process = observe(ctx, s.Holder, false)
		}
	}
	return states, nil
}

// waitPoll is how often Wait asks a Backend that cannot wait itself.
const waitPoll = 100 * time.Millisecond

// Wait returns nil once the lock called name is held (held true) or free
// (held false), and ctx's error once ctx is done. It takes no lock and
// changes nothing. For file locks on Linux it is woken by file events and
// costs no CPU while it waits; a Backend that cannot wait (see Waiter) is
// asked every 100 milliseconds. An error from looking at the lock ends the
// wait.
func Wait(ctx context.Context, name string, held bool, opts ...Option) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	b, err := newConfig(opts).lockBackend()
	if err != nil {
		return err
	}
	if w, ok := b.(Waiter); ok {
		return w.Wait(ctx, name, held)
	}
	for {
		s, err := b.Status(ctx, name)
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err != nil:
			return err
		case s.Running == held:
			return nil
		}
		t := time.NewTimer(waitPoll)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// observe returns what can be seen of h's process from here: whether it
// runs, and, if live, its figures.
func observe(ctx context.Context, h *Holder, live bool) (visible, exited bool, stats *ProcessStats) {
	id := proc.Identity{PID: h.PID, StartID: h.StartID, BootID: h.BootID, PIDNamespace: h.PIDNamespace}
	alive, err := proc.Alive(id)
	if err != nil || !alive || !live {
		return err == nil && alive, err == nil && !alive, nil
	}
	if st, err := proc.LiveStats(ctx, id); err == nil || st != (proc.Stats{}) {
		stats = &ProcessStats{Status: st.Status, CPUPercent: st.CPUPercent, MemoryRSS: st.RSS}
	}
	return true, false, stats
}
