package cli

import (
	"io"
	"os"
	"os/signal"
)

// runSignals are the signals run handles: those it forwards to the
// command, SIGPIPE (see pipeSignals) and, on Linux, SIGCHLD (see
// reapOrphans).
//
// The runtime enables each caught signal through a hand-off with a thread
// of its own, and restores each one the same way, about 0.1 ms each here:
// for the eight signals of run that cost more than every other step
// between its start and the command's. catchSignals therefore catches
// them in the background while run takes the lock, and they are never let
// go: run exits soon after the command's tree, and the signals that still
// arrive meanwhile are dropped.
//
// Until they are caught (the first half millisecond or so), a signal has
// its default action: it ends run before the command starts, which frees
// the lock as any other death of run does. run waits for them to be caught
// before it starts the command or writes anything (a write to a closed
// stderr must not end it with SIGPIPE). SIGCHLD is caught last, and not
// waited for: the command may start before it is, so once it is caught,
// childExit gets one notice for any child that exited before.
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
	go func() {
		// signal.Notify with no signals would catch every signal.
		if len(pipeSignals) > 0 {
			signal.Notify(make(chan os.Signal, 1), pipeSignals...)
		}
		signal.Notify(s.fw.ch, forwardedSignals...)
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

// awaitCaught returns once every signal of run but SIGCHLD is caught.
func (s *runSignals) awaitCaught() { <-s.caught }

// stop ends the forwarding; the signals stay caught (see runSignals).
func (s *runSignals) stop() { s.fw.stop() }

// afterCaught holds each write until run's signals are caught, so that
// a write to a closed pipe fails with EPIPE instead of ending run.
type afterCaught struct {
	w io.Writer
	s *runSignals
}

func (w afterCaught) Write(p []byte) (int, error) {
	w.s.awaitCaught()
	return w.w.Write(p)
}
