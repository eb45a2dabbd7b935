package singleinstance

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/singleinstance/singleinstance/internal/local"
)

// fileBackend is the default Backend: kernel file locks in a lock
// directory (package internal/local). Its Record and Holder types have the
// same fields, so they convert into each other.
type fileBackend struct {
	s *local.Store
	// forCommand: acquisitions leave the description to StartCommand
	// (WithCommandHolder).
	forCommand bool
}

// fileLease is a held file lock.
type fileLease struct{ *local.Lock }

var (
	_ Backend        = fileBackend{}
	_ Stopper        = fileBackend{}
	_ Lister         = fileBackend{}
	_ Waiter         = fileBackend{}
	_ runningChecker = fileBackend{}
	_ HolderUpdater  = fileLease{}
	_ commandSharer  = fileLease{}
	_ treeLease      = fileLease{}
	_ lockFile       = fileLease{}
)

// backend returns the Backend the options name: WithBackend's, else the
// lock directory's.
func (c *config) lockBackend() (Backend, error) {
	if c.backend != nil {
		return c.backend, nil
	}
	s, err := local.Open(local.Config{Dir: c.lockDir, Logger: c.logger, CheckInterval: c.checkInterval, Cleanup: c.cleanupOnExit})
	if err != nil {
		return nil, err
	}
	return fileBackend{s: s, forCommand: c.forCommand}, nil
}

func (b fileBackend) TryAcquire(ctx context.Context, name string, self *Holder) (Lease, error) {
	return b.acquire(ctx, name, false, self)
}

func (b fileBackend) Acquire(ctx context.Context, name string, self *Holder) (Lease, error) {
	return b.acquire(ctx, name, true, self)
}

// acquire takes name; the holder describes itself (local.DescribeSelf)
// once it holds the lock, unless the lock is for a command that
// StartCommand describes, which self stands in for until then.
func (b fileBackend) acquire(ctx context.Context, name string, wait bool, self *Holder) (Lease, error) {
	l, err := b.s.Acquire(ctx, name, local.AcquireOptions{Wait: wait, ForCommand: b.forCommand, Self: (*local.Record)(self)})
	var c *local.Conflict
	if errors.As(err, &c) {
		return nil, &AlreadyRunningError{Name: name, LockPath: c.LockPath, Holder: (*Holder)(c.Holder),
			HolderErr: c.HolderErr, Waited: c.Waited, Cause: c.Cause, StopCommand: localStopCommand(name, b.s.Dir())}
	}
	if err != nil {
		return nil, err
	}
	return fileLease{l}, nil
}

func (b fileBackend) Running(_ context.Context, name string) (bool, error) { return b.s.Running(name) }

func (b fileBackend) Status(_ context.Context, name string) (*State, error) {
	st, err := b.s.Status(name)
	if err != nil {
		return nil, err
	}
	s := &State{Name: st.Name, Running: st.Running, Stale: st.Stale, LastPID: st.LastPID, LockDir: st.LockDir, LockPath: st.LockPath,
		Holder: (*Holder)(st.Holder), HolderError: st.HolderError,
		Observed: Observed{Verified: st.Verified, Orphaned: st.Orphaned}}
	for _, p := range st.Holding {
		s.Holding = append(s.Holding, HoldingProcess(p))
	}
	return s, nil
}

// List lists every name with files in the lock directory; an entry that
// cannot be examined is listed with its Error.
func (b fileBackend) List(ctx context.Context) ([]*State, error) {
	entries, err := b.s.Names()
	if err != nil {
		return nil, err
	}
	states := make([]*State, 0, len(entries))
	for _, e := range entries {
		st, err := (*State)(nil), ValidateName(e.Name)
		if err == nil {
			st, err = b.Status(ctx, e.Name)
		}
		if err != nil {
			path := e.Path
			if ValidateName(e.Name) == nil {
				path = b.s.LockPath(e.Name)
			}
			st = &State{Name: e.Name, LockDir: b.s.Dir(), LockPath: path,
				Error: strings.TrimPrefix(err.Error(), "singleinstance: ")}
		}
		states = append(states, st)
	}
	return states, nil
}

func (b fileBackend) Stop(ctx context.Context, name string, force bool, wait time.Duration) (bool, error) {
	return b.s.Stop(ctx, name, force, wait)
}

func (b fileBackend) Wait(ctx context.Context, name string, held bool) error {
	return b.s.Wait(ctx, name, held)
}

func (b fileBackend) String() string { return b.s.String() }

func (l fileLease) Holder() Holder { return Holder(l.Record()) }

func (l fileLease) UpdateHolder(_ context.Context, h Holder) error {
	return l.Describe(local.Record(h))
}
