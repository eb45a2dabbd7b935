package local

import (
	"errors"
	"slices"

	"github.com/singleinstance/singleinstance/internal/proc"
)

// maxOrphanLooks bounds how often orphanFromInfo follows a changing .info file.
const maxOrphanLooks = 8

// orphanFromInfo returns the holder that still holds a lock file other than the
// one with device dev and inode ino, the file now at the lock path: its
// file was deleted or replaced while it ran. h is the .info file as already
// read (nil if none). It returns nil if there is no such holder, or where
// the platform cannot tell (only Linux lists locks by inode).
//
// A holder that restores its lock file locks the new file, then rewrites
// the .info to name it, then gives up the old file. So if the file the
// .info named is no longer held but the .info has changed meanwhile, the
// file it names now must be looked at too.
func orphanFromInfo(p paths, dev, ino uint64, h *Record) *Record {
	for range maxOrphanLooks {
		if h == nil || h.LockDevice == dev && h.LockInode == ino {
			return nil
		}
		if holdsOldLockFile(p, h) {
			return h
		}
		next, err := readHolder(p)
		if err != nil || next == nil || next.LockDevice == h.LockDevice && next.LockInode == h.LockInode {
			return nil
		}
		h = next
	}
	return nil
}

// holdsOldLockFile reports whether the lock file h recorded is still locked,
// and the process h names, or the wrapper that started it (its owner, which
// keeps holding for the command's tree after the command has exited),
// holds an earlier lock file of this name, deleted or replaced: no link
// left, and from the lock directory (see proc.NameLock.Deleted).
// A .info file names its lock file by device and inode only. One copied
// from another name or from another lock directory (cp -a of the
// directory, a backup put back), or written by another user, names a file
// that is still another lock's: it must neither make this name look held
// nor have that lock's holder stopped for it.
//
// Where the process cannot be inspected from here (another PID namespace,
// no permission), a lock on that file counts, unless the file is the lock
// file of another name in the lock directory.
func holdsOldLockFile(p paths, h *Record) bool {
	old := proc.FileID{Dev: h.LockDevice, Ino: h.LockInode}
	locked, err := proc.InodeLocked(old.Dev, old.Ino)
	if err != nil || !locked || slices.Contains(lockFilesIn(p.dir), old) {
		return false
	}
	held, err := holdsDeletedLockFile(h.identity(), p)
	if err == nil && held {
		return true
	}
	if owner, ok := h.ownerIdentity(); ok {
		if oh, oerr := holdsDeletedLockFile(owner, p); oerr == nil && oh {
			return true
		}
	}
	return err != nil && !errors.Is(err, proc.ErrNotFound) && !errors.Is(err, proc.ErrNotSameProcess)
}

// holdsDeletedLockFile reports whether the process id holds a write lock
// on a deleted lock file of the name at p (see deletedLock). It fails as
// proc.Alive does if id is gone or cannot be seen, and with the error of
// reading the process's descriptors if it cannot be inspected.
func holdsDeletedLockFile(id proc.Identity, p paths) (bool, error) {
	alive, err := proc.Alive(id)
	if err != nil {
		return false, err
	}
	if !alive {
		return false, proc.ErrNotFound
	}
	return proc.Holds(id.PID, deletedLock(p))
}
