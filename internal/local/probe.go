package local

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/singleinstance/singleinstance/internal/filelock"
	"github.com/singleinstance/singleinstance/internal/proc"
	"github.com/singleinstance/singleinstance/internal/safefs"
)

// A Status is what Store.Status found: the stored record and what was
// observed of the lock.
type Status struct {
	Name, LockDir, LockPath string
	Running                 bool
	Holder                  *Record // the .info file, when Running
	HolderError             string  // why Holder is nil
	Verified                bool    // Holder is proven to be the current holder
	Stale                   bool    // files left over, nothing holds the lock
	LastPID                 int     // when Stale, the PID in the .pid file
	Orphaned                bool    // the holder's lock file was replaced, or only the name token shows it
	Holding                 []Process
}

// A Process is one the kernel shows holding the lock or the name token.
type Process struct {
	PID  int
	Argv []string
}

// Running reports whether a process holds name: the kernel's lock or the
// name token, never the files alone.
func (s *Store) Running(name string) (bool, error) {
	r, err := s.probe(name, 0)
	if err != nil {
		return false, err
	}
	return r.state.Running, nil
}

// Status reports who holds name, taking and changing nothing.
func (s *Store) Status(name string) (*Status, error) {
	r, err := s.probe(name, readInfo)
	if err != nil {
		return nil, err
	}
	return &r.state, nil
}

// probeResult is what probe saw.
type probeResult struct {
	state   Status
	paths   paths
	record  record // the lock file's record, identical before and after the lock check
	lockDev uint64
	lockIno uint64
	// pathFile and pathLinks are the identity and link count of the file
	// at the lock path, when there is one (see linkedElsewhere).
	pathFile  proc.FileID
	pathLinks uint64
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
	// deleted are the processes found holding a deleted lock file of the
	// name, when only they show it held (see deletedLockHolders).
	deleted []int
}

// nameLock identifies what the holders of the name hold. A lock on the
// file at the path counts only while that file has no other name (see
// linkedElsewhere).
func (r *probeResult) nameLock() proc.NameLock {
	l := deletedLock(r.paths)
	l.Dev, l.Ino, l.Sock = r.lockDev, r.lockIno, r.sockIno
	if r.linkedElsewhere() || r.foreign() {
		l.Dev, l.Ino = 0, 0
	}
	return l
}

// foreign reports whether the lock file found held is the file at the
// path and its record, written to that very file, was written for another
// lock name: another name's lock file renamed to this name's path (a
// careless mv). A lock on it ties its holder to that other name, not to
// this one: as for a linked file, only the name token, held with a lock
// file of the name, proves a holder.
func (r *probeResult) foreign() bool {
	return r.lockIno != 0 && r.lockIno == r.pathFile.Ino && r.lockDev == r.pathFile.Dev &&
		r.record.describes(r.lockIno) && r.record.name != 0 && r.record.name != nameSum(r.state.Name)
}

// linkedElsewhere reports whether the lock file found held is the file at
// the path and has another name too: a hard link, which no acquisition
// makes (one refuses such a file), so someone made it, and it may be
// another name's lock file or another lock directory's linked here. Then
// a lock on it ties its holder to no name: only the name token, held with
// a lock file of the name, proves a holder.
func (r *probeResult) linkedElsewhere() bool {
	return r.pathLinks > 1 && r.lockIno != 0 && r.lockIno == r.pathFile.Ino && r.lockDev == r.pathFile.Dev
}

// findHolding fills in State.Holding: the processes that hold the lock
// file or the name token, where the platform can tell.
func (r *probeResult) findHolding() {
	if r.sockIno == 0 {
		r.sockIno = holderToken(r.tokenKey, filepath.Base(r.paths.lock))
	}
	holders := proc.Holders
	if r.state.Orphaned {
		// Its lock file deleted or replaced: a holder that the kernel alone
		// still shows must not be missed.
		holders = proc.HoldersThorough
	}
	pids, err := holders(r.nameLock())
	if err != nil {
		return
	}
	for _, pid := range pids {
		argv, _ := proc.Cmdline(pid)
		r.state.Holding = append(r.state.Holding, Process{PID: pid, Argv: argv})
	}
}

// A probeMode says what probe does beyond telling whether the name is held.
type probeMode uint8

const (
	// readInfo reads the .info file even when the lock shows a holder;
	// without it, probe reads it only to tell whether a lock file was
	// orphaned.
	readInfo probeMode = 1 << iota
	// noDeletedSearch leaves out the search for the holders of a deleted
	// lock file (deletedLockHolders), for a waiter whose last search found
	// none and that no file event has woken since (see Store.Wait).
	noDeletedSearch
)

// probe looks at a lock name without taking or changing anything.
func (s *Store) probe(name string, mode probeMode) (*probeResult, error) {
	dir, private := s.dir, s.private
	p := pathsFor(dir, name)
	r := &probeResult{paths: p, tokenKey: tokenKey(dir, private, name),
		state: Status{Name: name, LockDir: dir, LockPath: p.lock}}
	if private {
		if err := checkLockDir(dir); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return r, nil
			}
			return nil, err
		}
	}
	f, fi, err := safefs.OpenExisting(p.lock)
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
		r.lockDev, r.lockIno = safefs.FileID(fi)
		r.pathFile = proc.FileID{Dev: r.lockDev, Ino: r.lockIno}
		r.pathLinks = safefs.LinkCount(fi)
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
	if mode&readInfo == 0 && (r.state.Running || r.tokenOnly) {
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
		if o := orphanFromInfo(p, r.lockDev, r.lockIno, h); o != nil {
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
	if !r.state.Running && mode&noDeletedSearch == 0 &&
		(f == nil || r.record.mayHideDeleted(r.lockIno)) {
		// No lock file, one never held, a replacement, or one whose record
		// was copied from another: the holder's tree may keep only the
		// lock on a deleted one (see deletedLockHolders and
		// needsDeletedSearch). As when only the token shows it, the
		// kernel's list of holders describes it, not the .info file.
		cur := proc.FileID{Dev: r.lockDev, Ino: r.lockIno}
		if f == nil {
			cur.Dev = deviceOf(p.dir)
		}
		if r.deleted = deletedLockHolders(p, cur); len(r.deleted) > 0 {
			r.state.Running, r.state.Orphaned = true, true
			r.lockDev, r.lockIno = 0, 0
			r.record = record{}
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
		_, err := verifyHolder(r)
		r.state.Verified = err == nil
	} else {
		r.state.Stale = h != nil || herr != nil || exists(p.pid)
		if data, err := safefs.ReadBounded(p.pid, 64); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(data))); err == nil && pid > 0 {
				r.state.LastPID = pid
			}
		}
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
