package local

import (
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/singleinstance/singleinstance/internal/proc"
	"github.com/singleinstance/singleinstance/internal/safefs"
)

// A process of a holder's tree may keep the lock (descriptor 3) and close
// the name token (descriptor 4). While its wrapper lives, or while its lock
// file stays in place, it is seen: the wrapper holds the token, and the
// lock file is locked. Once the wrapper has died (even SIGKILL spares that
// process: only the command dies with run) and the lock file has been
// deleted, neither shows it any more, and neither may the .info file: only
// the kernel still lists its lock, on a file without a name.
//
// The wrapper may also have restored the lock file before it died: then
// the file at the path is one that only the wrapper held, and its .info
// file describes the wrapper's acquisition, as after any crash; its record
// says that it replaced the first (state "repl", see record).
//
// deletedLockHolders finds such processes, for a newcomer that is about to
// take the name on a lock file that was never held (its record has no
// token: the file was just created, so any earlier one was deleted or
// replaced) or whose holder died holding it after it had replaced its
// first file, and for a look that finds the name free on such a file or on
// none. A holder that died holding its first file needs no search: what
// its tree kept is that file, which would still be locked.
//
// It first asks /proc/locks whether any write lock is held on a file of
// the lock directory's file system other than cur (the lock file; only its
// device if there is none) and the lock files of other names in the
// directory: usually none is. That answer costs one read, but reading
// /proc/locks makes the kernel wait for a grace period (several
// milliseconds, tens on a busy virtual machine) unless it was read a
// moment before: one more reason to search only where it matters. Only then
// does it look through the processes (a read or two for each of them, and
// their threads if their main thread has exited) for those holding a write
// lock on a deleted file of the name in the lock directory. It returns
// their PIDs, or none. Only Linux can tell.
func deletedLockHolders(p paths, cur proc.FileID) []int {
	if len(lockedElsewhere(p, cur)) == 0 {
		return nil
	}
	return searchDeleted(p)
}

// lockedElsewhere returns the files of the lock directory's file system,
// other than cur and the lock files of other names in the directory, that
// have a write lock: those among which a deleted lock file of the name can
// be. It reads /proc/locks once (see deletedLockHolders).
func lockedElsewhere(p paths, cur proc.FileID) []proc.FileID {
	locked, err := proc.LockedFiles()
	if err != nil {
		return nil
	}
	locked = slices.DeleteFunc(locked, func(id proc.FileID) bool { return id == cur || id.Dev != cur.Dev })
	if len(locked) == 0 {
		return nil
	}
	if named := lockFilesIn(p.dir); len(named) > 0 {
		locked = slices.DeleteFunc(locked, func(id proc.FileID) bool { return slices.Contains(named, id) })
	}
	return locked
}

// searchDeleted looks through every process for those holding a deleted
// lock file of the name at p, and returns their PIDs.
func searchDeleted(p paths) []int {
	pids, err := proc.HoldersThorough(deletedLock(p))
	if err != nil {
		return nil
	}
	return pids
}

// deletedLock is what a process holding a deleted lock file of the name at
// p holds (see proc.NameLock.Deleted).
func deletedLock(p paths) proc.NameLock {
	base := filepath.Base(p.lock)
	return proc.NameLock{Base: base, Deleted: realPath(p.lock), HeldRecord: heldLockFile(base)}
}

// stillHolding returns those of pids, found by deletedLockHolders a moment
// ago, that still hold a deleted lock file of the name. Looking at them
// alone reads only their descriptors: a waiter looks again this way, and
// searches every process again only once none of them holds it any more
// (it may have handed the lock to another before it let go).
func stillHolding(p paths, pids []int) []int {
	l := deletedLock(p)
	var out []int
	for _, pid := range pids {
		if ok, err := proc.Holds(pid, l); err == nil && ok {
			out = append(out, pid)
		}
	}
	return out
}

// deviceOf returns the device of the file system that holds dir, or, if
// dir does not exist, the nearest directory above it that does.
func deviceOf(dir string) uint64 {
	for {
		if fi, err := os.Stat(dir); err == nil {
			dev, _ := safefs.FileID(fi)
			return dev
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return 0
		}
		dir = parent
	}
}

// lockFilesIn returns the identities of the lock files in dir.
func lockFilesIn(dir string) []proc.FileID {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var ids []proc.FileID
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".lock") {
			continue
		}
		if fi, err := os.Lstat(filepath.Join(dir, e.Name())); err == nil {
			dev, ino := safefs.FileID(fi)
			ids = append(ids, proc.FileID{Dev: dev, Ino: ino})
		}
	}
	return ids
}
