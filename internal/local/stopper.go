package local

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/singleinstance/singleinstance/internal/proc"
	"github.com/singleinstance/singleinstance/internal/safefs"
)

// errNoneVisible: the lock is held, but no process that holds it can be
// seen.
var errNoneVisible = errors.New("no holding process can be seen from here")

// A stopper signals the processes of a holder's tree, each at most once.
type stopper struct {
	name      string
	force     bool
	log       *slog.Logger
	signalled map[int]uint64 // PID to StartID of every process signalled
	lock      proc.NameLock  // what the stopped acquisition's tree holds
	paths     paths          // the name's files
	// locked are the files on the lock directory's file system that had
	// a write lock when the stop began: the only ones whose holders can
	// be the stopped tree's (see signalHandedOn).
	locked []proc.FileID
	// token is the fencing token of the acquisition being stopped, if
	// known; begun is when the stop began, which every later
	// acquisition's token exceeds (see nextToken).
	token    uint64
	begun    time.Time
	owner    proc.Identity // its wrapper, if hasOwner
	hasOwner bool
	lastLook time.Time // of again
}

// signalTree signals what r shows holding the lock: h, the holder the .info
// file describes, if it is proven; and every process the kernel shows
// holding the lock or its name token, except h's wrapper (its owner), which
// passes signals on to its command and exits once its tree is gone. With
// no .info file to name the wrapper, the wrapper is signalled too.
func (s *stopper) signalTree(r *probeResult, h *Record) error {
	var targets []proc.Identity
	if h != nil {
		targets = append(targets, h.identity())
	}
	// The wrapper is named by the .info file of the current acquisition,
	// even after the command it describes has exited.
	owner, hasOwner := proc.Identity{}, false
	if d := r.state.Holder; d != nil && r.recordMatches {
		owner, hasOwner = d.ownerIdentity()
	}
	s.lock, s.paths, s.owner, s.hasOwner = r.nameLock(), r.paths, owner, hasOwner
	s.locked = lockedOn(deviceOf(r.paths.dir))
	s.token, s.begun = token0(r, h), time.Now()
	for _, hp := range r.state.Holding {
		pid := hp.PID
		id, err := proc.Lookup(pid)
		if err != nil || hasOwner && id == owner || h != nil && id == h.identity() {
			continue
		}
		// The holders were listed a moment ago; the PID must still name
		// a holder now, and Signal checks that it is the same process.
		// With a name token, a process of the tree holds it: that tells
		// the tree from a waiter that has just locked the file at the
		// path, or become the next holder, since the list was made.
		if ok, err := proc.Holds(pid, s.treeLock(r)); err != nil || !ok {
			continue
		}
		targets = append(targets, id)
	}
	if len(targets) == 0 && hasOwner && s.ownerHolds(r) {
		// The command and its tree are gone, and the wrapper still holds
		// the lock on its own: it is the holder now.
		targets = append(targets, owner)
	}
	if len(targets) == 0 {
		return fmt.Errorf("singleinstance: %q is running, but %w: %w", s.name, ErrHolderUnproven, errNoneVisible)
	}
	var errs []error
	for _, id := range targets {
		if err := s.signal(id); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == len(targets) {
		return errors.Join(errs...)
	}
	return nil
}

// ownerHolds reports whether the wrapper recorded as owner is among the
// processes the kernel showed holding the name, and still holds it as a
// process of the tree must.
func (s *stopper) ownerHolds(r *probeResult) bool {
	for _, hp := range r.state.Holding {
		if hp.PID != s.owner.PID {
			continue
		}
		id, err := proc.Lookup(hp.PID)
		if err != nil || id != s.owner {
			return false
		}
		ok, err := proc.Holds(hp.PID, s.treeLock(r))
		return err == nil && ok
	}
	return false
}

// treeLock is what a process must hold to count as part of the tree
// being stopped: the name token and a lock file of the name, where the
// acquisition has a token; else the lock on the file at the path.
func (s *stopper) treeLock(r *probeResult) proc.NameLock {
	l := r.nameLock()
	if l.Sock != 0 {
		l.Dev, l.Ino = 0, 0
	}
	return l
}

// signal signals id once.
func (s *stopper) signal(id proc.Identity) error {
	if st, ok := s.signalled[id.PID]; ok && st == id.StartID {
		return nil
	}
	s.log.Debug("singleinstance: stopping holder", "name", s.name, "pid", id.PID, "force", s.force)
	err := proc.Signal(id, s.force)
	switch {
	case err == nil, errors.Is(err, proc.ErrNotFound):
		s.signalled[id.PID] = id.StartID
		return nil
	case errors.Is(err, proc.ErrNotSameProcess):
		return fmt.Errorf("singleinstance: %w: pid %d was reused by another process; nothing was signalled", ErrHolderUnproven, id.PID)
	default:
		return fmt.Errorf("singleinstance: signal pid %d: %w", id.PID, err)
	}
}

// again signals processes that joined the stopped acquisition's tree since
// the last look (a process the tree started while it was being stopped).
// Only the holders of that acquisition's name token, known by its socket
// inode, count: the lock file's inode stays the same for the next holder,
// which must never be hit.
func (s *stopper) again() {
	// A look goes through every process's descriptors: at most one a
	// second, so that a long wait costs next to no CPU.
	if s.lock.Sock == 0 || time.Since(s.lastLook) < time.Second {
		return
	}
	s.lastLook = time.Now()
	l := tokenLock(s.lock.Base, s.lock.Sock)
	pids, err := proc.Holders(l)
	if err != nil {
		return
	}
	for _, pid := range pids {
		id, err := proc.Lookup(pid)
		if err != nil || s.hasOwner && id == s.owner {
			continue
		}
		if ok, err := proc.Holds(pid, l); err == nil && ok {
			s.signal(id)
		}
	}
}

// holding reports whether a process this stop signalled still holds the
// name: a tree holding only a lock file that was deleted shows nowhere
// else, neither in the lock file at the path nor through the name token.
func (s *stopper) holding() bool {
	for pid, start := range s.signalled {
		id, err := proc.Lookup(pid)
		if err != nil || id.StartID != start {
			continue // gone
		}
		if ok, err := proc.Holds(pid, s.lock); err == nil && ok {
			return true
		}
	}
	return false
}

// awaitLetGo waits until no process this stop signalled holds the name
// (see holding), and no other process holds a deleted lock file of it: one
// that a signalled process handed the lock to as it went (a child it
// forked, a process it passed the descriptor to) holds the name as much,
// and is signalled in turn. A process's exit, or its closing a descriptor,
// sends no event here: it looks again every few milliseconds.
func (s *stopper) awaitLetGo(ctx context.Context) error {
	for {
		if !s.holding() && !s.signalHandedOn() {
			return nil
		}
		if err := sleepCtx(ctx, 10*time.Millisecond); err != nil {
			return err
		}
	}
}

// signalHandedOn signals the processes, other than the wrapper, that hold
// a deleted lock file of the name (see deletedLockHolders) that was locked
// when the stop began, and reports whether there were any: the name is
// not free while they live. A lock file locked since is a later holder's,
// which the stop must never hit.
func (s *stopper) signalHandedOn() bool {
	cur := proc.FileID{Dev: deviceOf(s.paths.dir)}
	if fi, err := os.Lstat(s.paths.lock); err == nil {
		cur.Dev, cur.Ino = safefs.FileID(fi)
	}
	var old []proc.FileID
	for _, id := range lockedElsewhere(s.paths, cur) {
		if slices.Contains(s.locked, id) {
			old = append(old, id)
		}
	}
	if len(old) == 0 {
		return false
	}
	deleted := deletedLock(s.paths)
	held := false
	for _, pid := range searchDeleted(s.paths) {
		id, err := proc.Lookup(pid)
		if err != nil || s.hasOwner && id == s.owner {
			continue
		}
		// Found holding a moment ago: it must hold, still, a deleted
		// lock file of the name that is one of the old ones, recording the
		// stopped acquisition (the same token where it is known, else one
		// from before the stop began: a later holder's is greater); the
		// signal then goes to that same process only (see signal).
		switch s.heldBefore(pid, old, deleted) {
		case byStopped:
			held = true
			s.signal(id)
		case byEarlier:
			held = true // not proven the stopped one's: not signalled
		}
	}
	return held
}

// Which acquisition a deleted lock file that a process holds records (see
// heldBefore).
const (
	byNone    = iota // none of the old files, or a later acquisition's
	byStopped        // the stopped acquisition's
	byEarlier        // one from before the stop began, not known to be it
)

// heldBefore tells whether the process with pid holds a deleted lock file
// of the name (deleted) that is one of old, and which acquisition its
// record names: the stopped one (the same token where it is known, else
// any from before the stop began), an earlier one, or none (a later
// acquisition's token exceeds the time the stop began: see nextToken).
func (s *stopper) heldBefore(pid int, old []proc.FileID, deleted proc.NameLock) int {
	files, err := proc.DeletedLockFiles(pid, deleted)
	if err != nil {
		return byNone
	}
	begun := uint64(max(s.begun.UnixMicro(), 0))
	result := byNone
	for _, path := range files {
		f, err := os.Open(path)
		if err != nil {
			continue
		}
		fi, ferr := f.Stat()
		rec := readRecord(f)
		f.Close()
		if ferr != nil {
			continue
		}
		dev, ino := safefs.FileID(fi)
		switch {
		case !slices.Contains(old, proc.FileID{Dev: dev, Ino: ino}), rec.token >= begun:
		case s.token == 0 || rec.token == s.token:
			return byStopped
		default:
			result = byEarlier
		}
	}
	return result
}

// lockedOn returns the files of the file system on dev that have a write
// lock (see proc.LockedFiles); none where the platform cannot tell.
func lockedOn(dev uint64) []proc.FileID {
	locked, err := proc.LockedFiles()
	if err != nil {
		return nil
	}
	return slices.DeleteFunc(locked, func(id proc.FileID) bool { return id.Dev != dev })
}

// pids lists the signalled PIDs for messages.
func (s *stopper) pids() string {
	var ps []int
	for pid := range s.signalled {
		ps = append(ps, pid)
	}
	slices.Sort(ps)
	var b []string
	for _, p := range ps {
		b = append(b, strconv.Itoa(p))
	}
	return strings.Join(b, ", ")
}
