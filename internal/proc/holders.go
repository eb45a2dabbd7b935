package proc

import "syscall"

// Holders returns the PIDs of the processes visible from here that hold the
// lock's kernel tokens: a descriptor of the socket with inode sockIno (if
// not 0), or a descriptor of the file with device dev and inode ino (if ino
// is not 0) that holds a write lock on it. The kernel's file tables are the
// evidence, so every PID returned was a holder at the time of its look.
// Processes of other users are invisible unless the caller may inspect
// them. Only Linux can tell; elsewhere it returns an error wrapping
// errors.ErrUnsupported.
func Holders(sockIno, dev, ino uint64) ([]int, error) { return holders(sockIno, dev, ino) }

// Descendants returns the PIDs of the running descendants of pid (children,
// their children, and so on). Only Linux can tell; elsewhere it returns an
// error wrapping errors.ErrUnsupported.
func Descendants(pid int) ([]int, error) { return descendants(pid) }

// HoldsToken reports whether the process with pid holds the tokens Holders
// looks for. Only Linux can tell.
func HoldsToken(pid int, sockIno, dev, ino uint64) (bool, error) {
	return holdsToken(pid, sockIno, dev, ino)
}

// Cmdline returns the command line of the process with pid as the kernel
// shows it. Only Linux can tell.
func Cmdline(pid int) ([]string, error) { return cmdline(pid) }

// SignalHolder sends sig to the process with pid if it holds the tokens
// Holders looks for, proven after a pidfd to it was opened, so that the
// signal cannot reach a later process that reuses the PID. It returns
// ErrNotFound if the process is gone and ErrNotSameProcess if it holds no
// token. Only Linux can tell.
func SignalHolder(pid int, sig syscall.Signal, sockIno, dev, ino uint64) error {
	return signalHolder(pid, sig, sockIno, dev, ino)
}
