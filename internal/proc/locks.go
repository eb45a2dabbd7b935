package proc

// HoldsLock reports whether the process id names holds, through one of its
// open descriptors, a write lock on the file with device dev and inode ino.
// It asks the kernel, not any record: on Linux it reads /proc/PID/fdinfo. It
// returns an error wrapping errors.ErrUnsupported where the kernel offers no
// such view, and a permission error where it hides it from this user.
func HoldsLock(id Identity, dev, ino uint64) (bool, error) {
	if err := checkVisible(id); err != nil {
		return false, err
	}
	return holdsLock(id, dev, ino)
}

// InodeLocked reports whether any process holds a lock on the file with
// device dev and inode ino, even if that file has no name any more. On Linux
// it reads /proc/locks; elsewhere it returns an error wrapping
// errors.ErrUnsupported.
func InodeLocked(dev, ino uint64) (bool, error) { return inodeLocked(dev, ino) }

// A FileID is a file's device and inode number.
type FileID struct{ Dev, Ino uint64 }

// LockedFiles returns the files on which some process holds an open file
// description write lock (the kind this package's callers take on Linux),
// named or not. On Linux it reads /proc/locks; elsewhere it returns an
// error wrapping errors.ErrUnsupported.
func LockedFiles() ([]FileID, error) { return lockedFiles() }
