package cli

import (
	"io"
	"os"
	"sync"
)

// forwarder decides what each forwarded signal does, once catchSignals has
// them caught, in three phases:
//
//   - while run waits for the lock, a signal calls the beforeLock function
//     (which ends the wait);
//   - once the lock is held and until the command has started, signals are
//     queued, so that one sent in that window (by "kill NAME", which may
//     still find run described as the holder) is not lost;
//   - once the command runs, queued and new signals are sent to it.
type forwarder struct {
	ch      chan os.Signal
	done    chan struct{} // closed by stop
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
	f := &forwarder{ch: make(chan os.Signal, 8), done: make(chan struct{}), fromTTY: isTerminal(stdin)}
	go f.loop()
	return f
}

func (f *forwarder) loop() {
	for {
		var sig os.Signal
		select {
		case sig = <-f.ch:
		case <-f.done:
			return
		}
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

// stop ends forwarding: the signals stay caught (see catchSignals), and
// any that still arrive are dropped. It does not wait for the loop to
// end: run, which calls stop last, exits without a wait for the loop to be
// scheduled.
func (f *forwarder) stop() {
	f.mu.Lock()
	f.stopped = true
	f.mu.Unlock()
	close(f.done)
}
