//go:build unix

package cli

import (
	"io"
	"os"
	"syscall"

	"golang.org/x/term"
)

// forwardedSignals reach the command that run started.
var forwardedSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP,
	syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2}

var terminateSignal os.Signal = syscall.SIGTERM

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

// pipeSignals are caught so that a write to a closed stdout or stderr
// (run's output piped into "head", say) fails with EPIPE instead of
// killing run with SIGPIPE. The signal is caught, not ignored, so the
// command run starts gets the default action back.
var pipeSignals = []os.Signal{syscall.SIGPIPE}
