//go:build !unix

package cli

import (
	"io"
	"os"
)

// Without Unix signals only an interrupt (Ctrl+C) can be caught. The
// console sends it to the command as well, so it is never forwarded.
var forwardedSignals = []os.Signal{os.Interrupt}

var terminateSignal = os.Kill

// hangupSignal is nil: there is no hang-up signal to keep ignored.
var hangupSignal os.Signal

func skipForward(sig os.Signal, fromTTY bool) bool { return true }

func isTerminal(r io.Reader) bool { return false }

func signalNumber(sig os.Signal) int { return 2 }

func exitCodeOf(ps *os.ProcessState) int { return ps.ExitCode() }

// writesWithoutSIGPIPE returns w: without Unix signals there is no SIGPIPE
// to survive.
func writesWithoutSIGPIPE(w io.Writer) (_ io.Writer, close func()) { return w, func() {} }
