package cli

import (
	"io"
	"os"
	"os/signal"
	"sync"
)

// forwarder catches the forwarded signals from its creation on and decides
// what each one does, in three phases:
//
//   - while run waits for the lock, a signal calls the beforeLock function
//     (which ends the wait);
//   - once the lock is held and until the command has started, signals are
//     queued, so that one sent in that window (by "kill NAME", which may
//     still find run described as the holder) is not lost;
//   - once the command runs, queued and new signals are sent to it.
type forwarder struct {
	ch      chan os.Signal
	fromTTY bool

	mu         sync.Mutex
	proc       *os.Process
	tree       func(os.Signal) // after the command exited: its tree
	holding    bool
	queued     []os.Signal
	beforeLock func(os.Signal)
	stopped    bool // signals that still arrive are dropped
}

func newForwarder(stdin io.Reader) *forwarder {
	f := &forwarder{ch: make(chan os.Signal, 8), fromTTY: isTerminal(stdin)}
	signal.Notify(f.ch, forwardedSignals...)
	go f.loop()
	return f
}

func (f *forwarder) loop() {
	for sig := range f.ch {
		f.mu.Lock()
		switch {
		case f.stopped:
		case f.tree != nil:
			if !skipForward(sig, f.fromTTY) {
				f.tree(sig)
			}
		case f.proc != nil:
			f.send(sig)
		case f.holding:
			f.queued = append(f.queued, sig)
		case f.beforeLock != nil:
			f.beforeLock(sig)
		}
		f.mu.Unlock()
	}
}

// send passes sig to the command; the caller holds f.mu.
func (f *forwarder) send(sig os.Signal) {
	if !skipForward(sig, f.fromTTY) {
		f.proc.Signal(sig)
	}
}

// onSignalBeforeLock sets what a signal does while run waits for the lock.
func (f *forwarder) onSignalBeforeLock(fn func(os.Signal)) {
	f.mu.Lock()
	f.beforeLock = fn
	f.mu.Unlock()
}

// locked starts queueing signals until the command starts.
func (f *forwarder) locked() {
	f.mu.Lock()
	f.holding = true
	f.mu.Unlock()
}

// started sends the queued signals to p, and every later one.
func (f *forwarder) started(p *os.Process) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.proc = p
	for _, sig := range f.queued {
		f.send(sig)
	}
	f.queued = nil
}

// toTree sends every later signal to the command's tree through send,
// once the command itself has exited.
func (f *forwarder) toTree(send func(os.Signal)) {
	f.mu.Lock()
	f.tree = send
	f.mu.Unlock()
}

// stop ends forwarding. It does not wait for the loop to drain the
// channel: a signal still in it is dropped there, and run, which calls
// stop last, exits without a wait for the loop to be scheduled.
func (f *forwarder) stop() {
	signal.Stop(f.ch)
	f.mu.Lock()
	f.stopped = true
	f.mu.Unlock()
	close(f.ch)
}
