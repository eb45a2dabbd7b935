package local

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/singleinstance/singleinstance/internal/proc"
	"github.com/singleinstance/singleinstance/internal/safefs"
)

// heldHere takes name in a new directory in this process and returns the
// store, the lock and the holder record as its .info file has it.
func heldHere(t *testing.T, name string) (*Store, *Lock, *Record) {
	t.Helper()
	dir := t.TempDir()
	s, err := Open(Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	l, err := acquireIn(dir, name, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Release() })
	h, err := readHolder(pathsFor(dir, name))
	if err != nil || h == nil {
		t.Fatalf("read the holder's .info: %v, %v", h, err)
	}
	if h.PID != os.Getpid() || h.LockInode == 0 {
		t.Fatalf(".info names pid %d, lock inode %d; want this process and its lock file", h.PID, h.LockInode)
	}
	return s, l, h
}

// otherInode returns the device and inode of a file nobody locks.
func otherInode(t *testing.T) (dev, ino uint64) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "unlocked")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	return fileIDOf(t, path)
}

// fileIDOf returns the device and inode of the file at path.
func fileIDOf(t *testing.T, path string) (dev, ino uint64) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return safefs.FileID(fi)
}

func TestDescribesLiveProcess(t *testing.T) {
	_, _, h := heldHere(t, "live")
	if describesLiveProcess(nil) {
		t.Error("nil record describes a live process")
	}
	if !describesLiveProcess(h) {
		t.Errorf("this process's record %+v does not describe a live process", h)
	}
	// The same PID with another start: the process it named is gone and
	// the PID reused.
	reused := *h
	reused.StartID++
	if describesLiveProcess(&reused) {
		t.Error("a record whose start does not match the PID's process describes a live process")
	}
}

func TestHoldsLock(t *testing.T) {
	_, _, h := heldHere(t, "holds")
	held, err := holdsLock(h, h.LockDevice, h.LockInode, proc.NameLock{})
	if err != nil || !held {
		t.Errorf("holdsLock(own lock file) = %v, %v; want true", held, err)
	}
	dev, ino := otherInode(t)
	if held, err := holdsLock(h, dev, ino, proc.NameLock{}); held {
		t.Errorf("holdsLock(an unlocked file) = %v, %v; want false", held, err)
	}
	// A record naming a wrapper (owner) that is not the holder's parent
	// proves nothing more.
	wrapped := *h
	wrapped.OwnerPID, wrapped.OwnerStartID = h.PID, h.StartID
	if held, err := holdsLock(&wrapped, dev, ino, proc.NameLock{}); held {
		t.Errorf("holdsLock with an owner that is not the parent = %v, %v; want false", held, err)
	}
}

func TestFindOrphan(t *testing.T) {
	s, l, h := heldHere(t, "orphan")
	p := pathsFor(s.dir, "orphan")
	dev, ino := otherInode(t)

	if got := orphanFromInfo(p, h.LockDevice, h.LockInode, h); got != nil {
		t.Errorf("the .info names the file at the lock path: orphan %+v, want none", got)
	}
	if got := orphanFromInfo(p, h.LockDevice, h.LockInode, nil); got != nil {
		t.Errorf("no .info: orphan %+v, want none", got)
	}
	// The file the .info names is still at the lock path: whatever file
	// the caller found there, it has not lost its name.
	if got := orphanFromInfo(p, dev, ino, h); got != nil {
		t.Errorf("the .info names the live lock file: orphan %+v, want none", got)
	}
	// A new file is renamed over the lock path (an editor, a backup put
	// back; the holder's watch, stopped here, would lock it): the holder
	// still holds the file its .info names, which has lost its name.
	l.stopWatch()
	<-l.watchDone
	newDev, newIno := replaceWithNew(t, p.lock)
	if got := orphanFromInfo(p, newDev, newIno, h); got == nil || got.PID != h.PID {
		t.Errorf("holder of a replaced lock file: orphan %+v, want pid %d", got, h.PID)
	}
	// The .info read earlier named a file nobody holds; the .info now
	// names the held one: orphanFromInfo follows it.
	stale := *h
	stale.LockDevice, stale.LockInode = dev, ino
	if holdsOldLockFile(p, &stale) {
		t.Error("holdsOldLockFile of a record naming an unlocked file")
	}
	if got := orphanFromInfo(p, dev, ino+1, &stale); got == nil || got.LockInode != h.LockInode {
		t.Errorf("changed .info: orphan %+v, want the holder of inode %d", got, h.LockInode)
	}
	// ... and stops when the file it names now is the one at the path.
	if got := orphanFromInfo(p, h.LockDevice, h.LockInode, &stale); got != nil {
		t.Errorf(".info now names the file at the lock path: orphan %+v, want none", got)
	}
}

// replaceWithNew renames a new file over path and returns its device and
// inode.
func replaceWithNew(t *testing.T, path string) (dev, ino uint64) {
	t.Helper()
	if err := os.WriteFile(path+".new", nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".new", path); err != nil {
		t.Fatal(err)
	}
	return fileIDOf(t, path)
}

// TestOrphanNotFromAnotherLock: a .info copied from another name of the
// lock directory, or from the same name in another lock directory (cp -a
// of the directory), names a lock file that is still another lock's, held
// by that lock's holder: it is no orphan of this name.
func TestOrphanNotFromAnotherLock(t *testing.T) {
	s, _, other := heldHere(t, "other")
	p := pathsFor(s.dir, "orphan")
	dev, ino := otherInode(t)
	if got := orphanFromInfo(p, dev, ino, other); got != nil {
		t.Errorf(".info of another name of the directory: orphan %+v, want none", got)
	}
	_, _, elsewhere := heldHere(t, "orphan") // the same name, another directory
	if got := orphanFromInfo(p, dev, ino, elsewhere); got != nil {
		t.Errorf(".info of the name in another directory: orphan %+v, want none", got)
	}
}

func TestProvenHolder(t *testing.T) {
	s, _, h := heldHere(t, "proven")
	probe := func(t *testing.T) *probeResult {
		t.Helper()
		r, err := s.probe("proven", readInfo)
		if err != nil || !r.state.Running {
			t.Fatalf("probe: %+v, %v; want running", r, err)
		}
		return r
	}
	t.Run("proven", func(t *testing.T) {
		got, err := verifyHolder(probe(t))
		if err != nil || got == nil || got.PID != h.PID || got.Token != h.Token {
			t.Fatalf("verifyHolder = %+v, %v; want pid %d token %d", got, err, h.PID, h.Token)
		}
	})
	for _, tc := range []struct {
		name   string
		damage func(r *probeResult)
	}{
		{"no .info", func(r *probeResult) { r.state.Holder = nil }},
		{"record of another acquisition", func(r *probeResult) { r.recordMatches = false }},
		{"process gone, PID reused", func(r *probeResult) {
			h := *r.state.Holder
			h.StartID++
			r.state.Holder = &h
		}},
		{"holding neither the lock file nor the name token", func(r *probeResult) {
			r.lockDev, r.lockIno = otherInode(t)
			r.sockIno = 0
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := probe(t)
			tc.damage(r)
			got, err := verifyHolder(r)
			if !errors.Is(err, ErrHolderUnproven) || got != nil {
				t.Errorf("verifyHolder = %+v, %v; want ErrHolderUnproven", got, err)
			}
		})
	}
	// The name token proves a holder whose lock file the path no longer
	// names.
	t.Run("name token, lock file renamed", func(t *testing.T) {
		r := probe(t)
		if r.sockIno == 0 {
			t.Skip("skipping: no name token here")
		}
		r.lockDev, r.lockIno = otherInode(t)
		if got, err := verifyHolder(r); err != nil || got == nil || got.PID != h.PID {
			t.Errorf("verifyHolder = %+v, %v; want pid %d by its name token", got, err, h.PID)
		}
	})
	t.Run("another PID namespace", func(t *testing.T) {
		r := probe(t)
		h := *r.state.Holder
		h.PIDNamespace++
		r.state.Holder = &h
		if got, err := verifyHolder(r); !errors.Is(err, ErrHolderNotVisible) || got != nil {
			t.Errorf("verifyHolder = %+v, %v; want ErrHolderNotVisible", got, err)
		}
	})
}
