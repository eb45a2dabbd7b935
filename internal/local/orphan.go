package local

import (
	"errors"

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
		if holdsOldLockFile(h) {
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

// holdsOldLockFile reports whether the process h names, or the wrapper that
// started it (its owner, which keeps holding for the command's tree after
// the command has exited), still holds the lock file h recorded. Where the
// process cannot be inspected from here (another PID namespace, no
// permission), a lock on that file counts.
func holdsOldLockFile(h *Record) bool {
	locked, err := proc.InodeLocked(h.LockDevice, h.LockInode)
	if err != nil || !locked {
		return false
	}
	held, err := holdsLock(h, h.LockDevice, h.LockInode, proc.NameLock{})
	if err == nil && held {
		return true
	}
	if owner, ok := h.ownerIdentity(); ok {
		if oh, oerr := proc.HoldsLock(owner, h.LockDevice, h.LockInode); oerr == nil && oh {
			return true
		}
	}
	return err != nil && !errors.Is(err, proc.ErrNotFound) && !errors.Is(err, proc.ErrNotSameProcess)
}
