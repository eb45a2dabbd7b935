package proc

import "os"

// A NameLock identifies what holders of one lock name hold: the lock file
// now at the lock path (Dev, Ino), earlier lock files of the same name that
// were deleted or replaced while held (any file whose name is Base), and
// the name token (the socket with inode Sock; 0 if none).
type NameLock struct {
	Base     string // the lock file's base name, such as "bot.lock"
	Dev, Ino uint64 // the lock file at the lock path; Ino 0 if none
	Sock     uint64 // the name token's socket inode; 0 if none
	// Inherited is a lock file whose write lock counts as much as the
	// one at the path: the one a holder's tree inherited, when the
	// holder has locked a new one since. Its Ino is 0 if none.
	Inherited struct{ Dev, Ino uint64 }
	// Deleted is the lock file's path with every symbolic link resolved:
	// a write lock on a deleted file that was at that path counts too (a
	// tree whose lock file was deleted, and that kept only the lock). The
	// kernel must show the file without any link left, and the mount the
	// process opened it through must place it in the lock directory
	// itself, in its file system (the same device, the same directory of
	// that file system), whatever path the process's mount namespace or
	// container gives that directory; the directory may have been deleted
	// and made again since. Deleted is empty if no such lock counts.
	Deleted string
	// HeldRecord, if set, reports whether f, an open regular file with
	// inode ino, is a lock file of the name that counts (see the caller's
	// rules): one whose record says held and names that very inode; and,
	// where the process holds a write lock on it (locked), also one that a
	// newcomer has locked and not yet recorded itself in. Together with
	// the name token, a write lock on such a file counts whatever the file
	// is now called: a holder's lock file renamed away (a backup, a
	// careless mv, two names' files swapped), even while the holder is
	// still taking it, still shows its tree.
	HeldRecord func(f *os.File, ino uint64, locked bool) bool
}

// Holders returns the PIDs of the processes visible from here that hold
// the name: a write lock on the lock file at the lock path (or on
// l.Inherited, or on a deleted file that was at l.Deleted); or the name
// token together with a write lock on an earlier lock file of the name (a
// tree whose lock file was deleted or replaced), on a held lock file
// under another name (see HeldRecord), or with a lock file of the name
// kept open through exec without its lock (a command's tree, one of whose
// processes unlocked the lock they share). A process that holds the token
// alone (one that closed the lock file, or a fork that has not yet called
// exec) holds nothing. The kernel's file tables are the evidence,
// so every PID returned was a holder at the time of its look. Processes of
// other users are invisible unless the caller may inspect them. Only Linux
// can tell; elsewhere it returns an error wrapping errors.ErrUnsupported.
func Holders(l NameLock) ([]int, error) { return holdersVia(l, false) }

// HoldersThorough is Holders that also looks through the threads of every
// process whose main thread has exited: one of its other threads may hold
// the name. That costs a read for each kernel thread too, so it is for
// looks that must not miss a holder, not for every Status.
func HoldersThorough(l NameLock) ([]int, error) { return holdersVia(l, true) }

// HoldersBelow is Holders restricted to the descendants of pid: enough,
// and much cheaper, when pid is a child subreaper, to which every process
// of its tree is reparented when its parent exits.
func HoldersBelow(pid int, l NameLock) ([]int, error) { return holdersBelow(pid, l) }

// IsSubreaper reports whether the calling process is a child subreaper
// (Linux's PR_SET_CHILD_SUBREAPER). Elsewhere it returns false.
func IsSubreaper() bool { return isSubreaper() }

// Holds reports whether the process with pid holds the name as Holders
// defines it. Only Linux can tell.
func Holds(pid int, l NameLock) (bool, error) { return holds(pid, l) }

// DeletedLockFiles returns the descriptors, as paths under /proc that open
// the file, through which the process with pid holds a deleted lock file
// of l's name (see NameLock.Deleted). Only Linux can tell.
func DeletedLockFiles(pid int, l NameLock) ([]string, error) { return deletedLockFiles(pid, l) }

// SignalHolder sends sig to the process with pid if it holds the name as
// Holders defines it, proven after a pidfd to it was opened, so that the
// signal cannot reach a later process that reuses the PID. It returns
// ErrNotFound if the process is gone and ErrNotSameProcess if it holds
// nothing. Only Linux can tell.
func SignalHolder(pid int, sig os.Signal, l NameLock) error { return signalHolder(pid, sig, l) }

// Descendants returns the PIDs of the running descendants of pid (children,
// their children, and so on). Only Linux can tell; elsewhere it returns an
// error wrapping errors.ErrUnsupported.
func Descendants(pid int) ([]int, error) { return descendants(pid) }

// Cmdline returns the command line of the process with pid as the kernel
// shows it. Only Linux can tell.
func Cmdline(pid int) ([]string, error) { return cmdline(pid) }
