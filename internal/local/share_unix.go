//go:build unix

package local

import (
	"os"
	"os/exec"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// shareLock passes the locked file and then the name token, if any, to the
// child after the caller's own extra files (as descriptors 3 and 4 when
// there are none): its copies refer to the same open file descriptions, so
// it holds the same lock and token. Descriptors that the child would have
// inherited at those numbers are passed on above them (see
// passOnDisplaced). The returned function closes the copies made for that,
// once the child has started or failed to.
func shareLock(cmd *exec.Cmd, f, token *os.File) (closeCopies func()) {
	first := 3 + len(cmd.ExtraFiles)
	cmd.ExtraFiles = append(cmd.ExtraFiles, f)
	if token != nil {
		cmd.ExtraFiles = append(cmd.ExtraFiles, token)
	}
	copies := passOnDisplaced(cmd, first)
	return func() {
		for _, c := range copies {
			c.Close()
		}
	}
}

// passOnDisplaced keeps the descriptors that this process would pass to
// the child anyway (open and not close-on-exec: ones it inherited, such as
// the lock and token of a run that started this one) but that the files
// from number first on, which it has just added to cmd.ExtraFiles, would
// replace. Each goes to the next number above those that no such
// descriptor holds. So a wrapper started under another wrapper hands its
// command both names' locks, and the outer name stays held while the
// command's tree runs, even if the inner wrapper is killed. It returns the
// close-on-exec copies it made for the child.
func passOnDisplaced(cmd *exec.Cmd, first int) []*os.File {
	var copies, displaced []*os.File
	for fd := first; fd < 3+len(cmd.ExtraFiles); fd++ {
		if c := inheritableCopy(fd); c != nil {
			copies, displaced = append(copies, c), append(displaced, c)
		}
	}
	for _, d := range displaced {
		// A descriptor already at the next number stays where it is.
		for {
			c := inheritableCopy(3 + len(cmd.ExtraFiles))
			if c == nil {
				break
			}
			copies, cmd.ExtraFiles = append(copies, c), append(cmd.ExtraFiles, c)
		}
		cmd.ExtraFiles = append(cmd.ExtraFiles, d)
	}
	return copies
}

// inheritableCopy returns a close-on-exec copy of descriptor fd if it is
// open and not close-on-exec; else nil.
func inheritableCopy(fd int) *os.File {
	flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	if err != nil || flags&unix.FD_CLOEXEC != 0 {
		return nil
	}
	// F_DUPFD_CLOEXEC is not on every Unix: dup, then mark it, with forks
	// held off meanwhile so that no child inherits the copy.
	syscall.ForkLock.RLock()
	dup, err := unix.Dup(fd)
	if err == nil {
		unix.CloseOnExec(dup)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return nil
	}
	return os.NewFile(uintptr(dup), "descriptor "+strconv.Itoa(fd))
}
