//go:build !unix

package main

import (
	"io"
	"os"
	"os/signal"
	"sync"
)

// Without Unix signals only an interrupt (Ctrl+C) can be caught; it is
// passed on by terminating the command.
var forwardedSignals = []os.Signal{os.Interrupt}

var terminateSignal = os.Kill

type forwarder struct {
	ch          chan os.Signal
	mu          sync.Mutex
	proc        *os.Process
	beforeStart func(os.Signal)
	done        chan struct{}
}

func newForwarder(stdin io.Reader) *forwarder {
	f := &forwarder{ch: make(chan os.Signal, 8), done: make(chan struct{})}
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
			// The console sends Ctrl+C to the command as well.
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

func signalNumber(sig os.Signal) int { return 2 }

func exitCodeOf(ps *os.ProcessState) int { return ps.ExitCode() }
