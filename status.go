package singleinstance

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/singleinstance/singleinstance/internal/filelock"
	"github.com/singleinstance/singleinstance/internal/nametoken"
	"github.com/singleinstance/singleinstance/internal/proc"
	"github.com/singleinstance/singleinstance/internal/safefs"
)

// State describes a lock name as Status found it.
type State struct {
	// Name is the lock name.
	Name string `json:"name"`
	// Running reports whether a process holds the lock. The kernel's lock
	// is the only evidence used: never the .pid or .info file alone.
	Running bool `json:"running"`
	// LockDir and LockPath are the lock directory and lock file.
	LockDir  string `json:"lock_dir"`
	LockPath string `json:"lock_path"`
	// Holder describes the holder when Running, as its .info file records
	// it and as far as its process can be observed from here (see
	// Holder.Visible). It is nil if the .info file is missing or unreadable,
	// which HolderError then explains.
	Holder      *Holder `json:"holder,omitempty"`
	HolderError string  `json:"holder_error,omitempty"`
	// Verified reports whether the .info file was proven to describe the
	// current holder (see KillRunning), as opposed to being stale, forged,
	// or written by a holder that has not finished starting.
	Verified bool `json:"verified"`
	// Stale reports that .pid or .info files are present but nothing holds
	// the lock: a previous holder crashed or kept its files on release.
	// Stale files are harmless; the next holder replaces them.
	Stale bool `json:"stale"`
	// Orphaned reports that the holder holds a lock file that was deleted
	// or replaced (it restores it on its next check), or, on Linux, that
	// only the name token shows a running holder.
	Orphaned bool `json:"orphaned,omitempty"`
	// Holding lists the processes seen holding the lock or its name token
	// (Linux): the holder, its wrapper, and every process of the guarded
	// tree that kept the descriptors it inherited, including processes
	// that outlive the command. KillRunning stops them.
	Holding []HoldingProcess `json:"holding,omitempty"`
	// Backend says where the lock is kept when it is not a file lock (see
	// WithBackend), and Key names it there; LockDir and LockPath are then
	// empty.
	Backend string `json:"backend,omitempty"`
	Key     string `json:"key,omitempty"`
	// Fenced reports that the holder was stopped by force through a
	// Backend: no one can take the lock until the holder is certain to
	// have noticed, at FencedUntil at the latest.
	Fenced      bool      `json:"fenced,omitempty"`
	FencedUntil time.Time `json:"fenced_until,omitzero"`
}

// A HoldingProcess is a process that the kernel shows holding a lock or its
// name token.
type HoldingProcess struct {
	PID  int      `json:"pid"`
	Argv []string `json:"argv,omitempty"`
}

// String returns "pid N: ARGV", with ARGV quoted for a shell and every
// control character escaped.
func (p HoldingProcess) String() string {
	return fmt.Sprintf("pid %d: %s", p.PID, EscapeArgv(p.Argv))
}

// CheckRunning reports whether a process holds the lock called name. It
// takes no lock and creates, changes or removes no file; a missing lock
// directory or lock file means not running. It never reports a dead
// process, or an unrelated process that reuses a recorded PID, as running:
// only the kernel's lock counts. The error is non-nil when it could not
// tell (bad name, unreadable or insecure lock directory).
//
// With WithBackend it asks the backend instead, and an unreachable backend
// is an error matching ErrUnavailable.
func CheckRunning(name string, opts ...Option) (bool, error) {
	cfg := newConfig(opts)
	if cfg.backend != nil {
		s, err := backendStatus(context.Background(), name, cfg)
		if err != nil {
			return false, err
		}
		return s.Running, nil
	}
	s, err := probe(name, cfg, false)
	if err != nil {
		return false, err
	}
	return s.state.Running, nil
}

// Status reports the state of the lock called name: whether it is held,
// and by whom. Like CheckRunning it changes nothing. With WithLiveStats
// (the default) it also reads the holder's live process figures when the
// holder is visible from here.
func Status(name string, opts ...Option) (*State, error) {
	return StatusContext(context.Background(), name, opts...)
}

// StatusContext is like Status with a context for reading live figures.
func StatusContext(ctx context.Context, name string, opts ...Option) (*State, error) {
	cfg := newConfig(opts)
	if cfg.backend != nil {
		return backendStatus(ctx, name, cfg)
	}
	s, err := probe(name, cfg, true)
	if err != nil {
		return nil, err
	}
	if s.state.Holder != nil && s.state.Running {
		observe(ctx, s.state.Holder, cfg.liveStats)
	}
	return &s.state, nil
}

// probeResult is what probe saw.
type probeResult struct {
	state   State
	paths   paths
	record  record // the lock file's record, identical before and after the lock check
	lockDev uint64
	lockIno uint64
	// holderErr says why the .info file could not be read.
	holderErr error
	// recordMatches: the lock record and the .info file name the same
	// acquisition, on the lock file that is held.
	recordMatches bool
	// tokenKey names the name token; tokenOnly reports that only the
	// token shows a holder; sockIno is the token's inode once known.
	tokenKey  string
	tokenOnly bool
	sockIno   uint64
}

// nameLock identifies what the holders of the name hold.
func (r *probeResult) nameLock() proc.NameLock {
	return proc.NameLock{Base: filepath.Base(r.paths.lock), Dev: r.lockDev, Ino: r.lockIno, Sock: r.sockIno,
		Deleted: realPath(r.paths.lock)}
}

// findHolding fills in State.Holding: the processes that hold the lock
// file or the name token, where the platform can tell.
func (r *probeResult) findHolding() {
	if r.sockIno == 0 {
		if uid, ino, err := nametoken.Owner(r.tokenKey); err == nil && uid == os.Geteuid() {
			r.sockIno = ino
		}
	}
	pids, err := proc.Holders(r.nameLock())
	if err != nil {
		return
	}
	for _, pid := range pids {
		argv, _ := proc.Cmdline(pid)
		r.state.Holding = append(r.state.Holding, HoldingProcess{PID: pid, Argv: argv})
	}
}

// probe looks at a lock name without taking or changing anything. With
// readInfo false it reads the .info file only when needed to tell whether
// a lock file was orphaned.
func probe(name string, cfg *config, readInfo bool) (*probeResult, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	dir, private, err := cfg.resolveLockDir()
	if err != nil {
		return nil, err
	}
	p := pathsFor(dir, name)
	r := &probeResult{paths: p, tokenKey: tokenKey(dir, private, name),
		state: State{Name: name, LockDir: dir, LockPath: p.lock}}
	if private {
		if err := checkLockDir(dir); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return r, nil
			}
			return nil, err
		}
	}
	f, err := safefs.OpenExisting(p.lock)
	switch {
	case errors.Is(err, os.ErrNotExist):
		f = nil
	case err != nil:
		return nil, classify("lock file "+p.lock, err)
	default:
		defer f.Close()
		if err := r.checkLock(f); err != nil {
			return nil, err
		}
		if fi, err := f.Stat(); err == nil {
			r.lockDev, r.lockIno = safefs.FileID(fi)
		}
	}
	if !r.state.Running {
		// The holder's lock file may have been deleted with its .info:
		// the name token still shows it.
		held, ino, err := tokenHeld(r.tokenKey, filepath.Base(p.lock))
		if err != nil {
			return nil, err
		}
		r.tokenOnly, r.sockIno = held, ino
	}
	if !readInfo && (r.state.Running || r.tokenOnly) {
		r.state.Running = true
		return r, nil
	}
	h, herr := readHolder(p)
	if herr != nil {
		r.holderErr = herr
		r.state.HolderError = herr.Error()
	}
	if !r.state.Running {
		// The holder's lock file may have been deleted or replaced while
		// it runs: ask the kernel about the file it locked.
		if o := findOrphan(p, r.lockDev, r.lockIno, h); o != nil {
			h = o
			r.state.Running = true
			r.state.Orphaned = true
			r.lockDev, r.lockIno = h.LockDevice, h.LockInode
			r.record = record{token: h.Token, held: true}
		}
	}
	if !r.state.Running && r.tokenOnly {
		// The holder's tree holds an earlier lock file, not the one at the
		// path: whoever locks that one now is a newcomer or a waiter
		// looking, never the holder, and is not counted.
		cur := r.lockIno
		r.state.Running, r.state.Orphaned = true, true
		r.lockDev, r.lockIno = 0, 0
		if h != nil && h.LockInode != cur {
			r.lockDev, r.lockIno = h.LockDevice, h.LockInode
			r.record = record{token: h.Token, held: true}
		}
	}
	if !r.state.Running && f != nil {
		// A holder restoring a deleted lock file locks the new file, then
		// names it in the .info, then lets the old one go. Looking at the
		// lock once more after the .info closes the window between the two
		// looks above.
		if err := r.checkLock(f); err != nil {
			return nil, err
		}
	}
	if r.state.Running {
		r.state.Holder = h
		r.recordMatches = h != nil && r.record.held && r.record.token == h.Token &&
			h.LockDevice == r.lockDev && h.LockInode == r.lockIno
		r.findHolding()
		_, err := provenHolder(r)
		r.state.Verified = err == nil
	} else {
		r.state.Stale = h != nil || herr != nil || exists(p.pid)
	}
	return r, nil
}

// checkLock asks whether f's lock is held, reading the lock record around
// the question so that a record seen identical on both sides describes the
// holder the answer is about.
func (r *probeResult) checkLock(f *os.File) error {
	before := readRecord(f)
	locked, err := filelock.IsLocked(f)
	if err != nil {
		return classify("lock file "+r.paths.lock, err)
	}
	after := readRecord(f)
	r.state.Running = locked
	r.record = record{}
	if before == after {
		r.record = after
	}
	return nil
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// backendStatus is Status over a Backend. The holder's process is observed
// when it runs on this machine.
func backendStatus(ctx context.Context, name string, cfg *config) (*State, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	s, err := cfg.backend.Status(ctx, name)
	if err != nil {
		return nil, err
	}
	if s.Holder != nil && s.Running {
		observe(ctx, s.Holder, cfg.liveStats)
	}
	return s, nil
}

// List reports the state of every lock name a Backend holds or has a
// record for, sorted by name, without live process figures. It needs
// WithBackend; for file locks, list the lock directory and call Status.
func List(ctx context.Context, opts ...Option) ([]*State, error) {
	cfg := newConfig(opts)
	if cfg.backend == nil {
		return nil, errors.New("singleinstance: List needs WithBackend")
	}
	states, err := cfg.backend.List(ctx)
	if err != nil {
		return nil, err
	}
	for _, s := range states {
		if s.Holder != nil && s.Running {
			observe(ctx, s.Holder, false)
		}
	}
	return states, nil
}
