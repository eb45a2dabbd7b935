package cli

import (
	"io"
	"os"
	"os/signal"
	"slices"
)

// runSignals are the signals run handles: those it forwards to the
// command and, on Linux, SIGCHLD (see reapOrphans). SIGPIPE is not among
// them: run writes through a descriptor of its own (see
// writesWithoutSIGPIPE).
//
// The runtime enables each caught signal through a hand-off with a thread
// of its own, 0.05 to 0.1 ms each here: for the seven signals of run that
// cost more than every other step between its start and the command's.
// catchSignals therefore catches them in the background while run takes
// the lock, and they are never let go: run exits soon after the command's
// tree, and the signals that still arrive meanwhile are dropped.
//
// Until they are caught (the first half millisecond or so), a signal has
// its default action: SIGINT, SIGTERM, SIGHUP and SIGQUIT end run, SIGUSR1
// and SIGUSR2 are dropped. Before the command starts, that is harmless:
// run's death frees the lock as any other does. Once the command runs,
// run must forward them instead (its death would kill the command with
// its parent-death signal, SIGKILL), so run starts the command only once
// they are caught (awaitCaught). SIGCHLD is caught last, and not waited
// for: once it is caught, childExit gets one notice for any child that
// exited before.
type runSignals struct {
	fw        *forwarder
	childExit chan os.Signal // SIGCHLD; never ready where the platform has no subreaper
	caught    chan struct{}  // closed once every signal but SIGCHLD is caught
}

// catchSignals starts catching run's signals and returns at once.
func catchSignals(stdin io.Reader) *runSignals {
	s := &runSignals{fw: newForwarder(stdin), caught: make(chan struct{})}
	if len(childExitSignals) > 0 {
		s.childExit = make(chan os.Signal, 1)
	}
	forwarded := slices.DeleteFunc(slices.Clone(forwardedSignals), keptIgnored)
	go func() {
		// signal.Notify with no signals would catch every signal.
		if len(forwarded) > 0 {
			signal.Notify(s.fw.ch, forwarded...)
		}
		close(s.caught)
		if s.childExit != nil {
			signal.Notify(s.childExit, childExitSignals...)
			select {
			case s.childExit <- childExitSignals[0]:
			default: // a notice is pending already
			}
		}
	}()
	return s
}

// keptIgnored reports whether sig was ignored when run started and stays
// ignored, for run and for the command, which inherits that: SIGHUP under
// nohup, so that the command outlives a hang-up as it would without run.
// SIGINT is caught and forwarded even when ignored (a shell ignores it in
// its background jobs, those with stdin from /dev/null): "kill -INT" to
// run must reach the command (run_sigint_devnull.txtar).
func keptIgnored(sig os.Signal) bool { return sig == hangupSignal && signal.Ignored(sig) }

// awaitCaught returns once every signal of run but SIGCHLD is caught: from
// then on the command may start.
func (s *runSignals) awaitCaught() { <-s.caught }

// stop ends the forwarding; the signals stay caught (see runSignals).
func (s *runSignals) stop() { s.fw.stop() }
