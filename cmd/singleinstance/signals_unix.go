//go:build unix

package main

import (
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"golang.org/x/term"
)

// forwardedSignals reach the command that run started.
var forwardedSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP,
	syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2}

const terminateSignal = syscall.SIGTERM

// forwarder catches the forwarded signals from its creation on. Before the
// command starts, a signal calls beforeStart; after, it is sent on.
type forwarder struct {
	ch          chan os.Signal
	fromTTY     bool
	mu          sync.Mutex
	proc        *os.Process
	beforeStart func(os.Signal)
	done        chan struct{}
}

func newForwarder(stdin io.Reader) *forwarder {
	f := &forwarder{ch: make(chan os.Signal, 8), fromTTY: isTerminal(stdin), done: make(chan struct{})}
	signal.Notify(f.ch, forwardedSignals...)
	go f.loop()
	return f
}

func (f *forwarder) loop() {
	defer close(f.done)
	for sig := range f.ch {
		f.mu.Lock()
		p, before := f.proc, f.beforeStart
		f.mu.Unlock()
		switch {
		case p != nil:
			// A terminal sends SIGINT and SIGQUIT to its whole foreground
			// process group, the command included; sending them again
			// would deliver them twice.
			if f.fromTTY && (sig == syscall.SIGINT || sig == syscall.SIGQUIT) {
				continue
			}
			p.Signal(sig)
		case before != nil:
			before(sig)
		}
	}
}

// onSignalBeforeStart sets what a signal does before the command starts.
func (f *forwarder) onSignalBeforeStart(fn func(os.Signal)) {
	f.mu.Lock()
	f.beforeStart = fn
	f.mu.Unlock()
}

// started makes signals go to p from now on.
func (f *forwarder) started(p *os.Process) {
	f.mu.Lock()
	f.proc = p
	f.mu.Unlock()
}

func (f *forwarder) stop() {
	signal.Stop(f.ch)
	close(f.ch)
	<-f.done
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
