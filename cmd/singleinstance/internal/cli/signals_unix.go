//go:build unix

package cli

import (
	"io"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// forwardedSignals reach the command that run started.
var forwardedSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP,
	syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2}

var terminateSignal os.Signal = syscall.SIGTERM

// hangupSignal is the signal nohup ignores (see keptIgnored).
var hangupSignal os.Signal = syscall.SIGHUP

// skipForward: a terminal sends SIGINT and SIGQUIT to its whole foreground
// process group, the command included; sending them again would deliver
// them twice.
func skipForward(sig os.Signal, fromTTY bool) bool {
	return fromTTY && (sig == syscall.SIGINT || sig == syscall.SIGQUIT)
}

// isTerminal reports whether r is a terminal (not merely a character
// device such as /dev/null).
func isTerminal(r io.Reader) bool {
	file, ok := r.(*os.File)
	return ok && term.IsTerminal(int(file.Fd()))
}

func signalNumber(sig os.Signal) int {
	if s, ok := sig.(syscall.Signal); ok {
		return int(s)
	}
	return 0
}

// exitCodeOf is the command's exit code, or 128+N if signal N killed it.
func exitCodeOf(ps *os.ProcessState) int {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

// writesWithoutSIGPIPE returns a writer for run's own messages to w (its
// standard error), which a closed pipe cannot kill: for descriptor 1 or 2,
// a duplicate of it, and close to close that; else w itself. The runtime
// ends a process that writes to a closed pipe on descriptor 1 or 2 (as in
// "run ... 2>&1 | head"), which would leave the command unguarded; on any
// other descriptor the write fails with EPIPE. Catching SIGPIPE instead
// would cost run a signal hand-off (see runSignals) before it could write.
// The command gets w's descriptor as it is, and the default SIGPIPE
// action.
func writesWithoutSIGPIPE(w io.Writer) (_ io.Writer, close func()) {
	f, ok := w.(*os.File)
	if !ok || f.Fd() > 2 {
		return w, func() {}
	}
	// Not below 3: with descriptor 0 or 1 closed, a plain dup would take
	// its place (and the command would get it as its standard input or
	// output). Under ForkLock, so that no command started meanwhile
	// inherits it (F_DUPFD_CLOEXEC is not everywhere).
	syscall.ForkLock.RLock()
	fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD, 3)
	if err == nil {
		syscall.CloseOnExec(fd)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return w, func() {}
	}
	dup := os.NewFile(uintptr(fd), f.Name())
	return dup, func() { dup.Close() }
}
