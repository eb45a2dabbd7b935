// Package proc identifies processes in a way that survives PID reuse, and
// signals a process only after proving it is the one that was identified.
//
// An Identity is a PID plus the process's start time as the kernel reports
// it, and on Linux the boot and the PID namespace it was seen from. Two
// Identities are the same process only if every field matches: a PID reused
// by a later process has a later start time, a PID from another boot or
// another PID namespace means nothing here.
package proc

import (
	"errors"
	"sync"
	"time"
)

// ErrNotFound means no process with the PID exists as seen from here.
var ErrNotFound = errors.New("no such process")

// ErrNotSameProcess means a process with the PID exists but it started at a
// different time: the PID was reused by another program.
var ErrNotSameProcess = errors.New("PID now belongs to a different process")

// ErrNotVisible means the identity was recorded in another PID namespace or
// another boot, so its PID cannot be looked up or signalled from here.
var ErrNotVisible = errors.New("process not visible from here")

// Identity names one process incarnation.
type Identity struct {
	// PID is the process ID as seen from the recording PID namespace.
	PID int
	// StartID is the kernel's record of when the process started, in a
	// platform-defined unit (Linux: clock ticks since boot; macOS:
	// microseconds since the epoch; Windows: 100 ns intervals since 1601;
	// others: milliseconds since the epoch). Only equality is meaningful.
	StartID uint64
	// BootID identifies the boot (Linux; empty elsewhere).
	BootID string
	// PIDNamespace is the inode of the PID namespace (Linux; 0 elsewhere).
	PIDNamespace uint64
}

// Self returns the identity of the calling process.
func Self() (Identity, error) { return self() }

// self caches the calling process's identity: none of its fields can change
// while the process lives (a process never changes its PID namespace; setns
// affects only its children). This is the package's only global, and it is
// written once.
var self = sync.OnceValues(func() (Identity, error) { return lookup(selfPID()) })

// Lookup returns the identity of the process that now has pid. It returns
// ErrNotFound if there is none.
func Lookup(pid int) (Identity, error) {
	if pid <= 0 {
		return Identity{}, ErrNotFound
	}
	return lookup(pid)
}

// Visible reports whether id was recorded in this boot and this PID
// namespace, so that its PID means the same here.
func Visible(id Identity) (bool, error) {
	self, err := Self()
	if err != nil {
		return false, err
	}
	return self.BootID == id.BootID && self.PIDNamespace == id.PIDNamespace, nil
}

// Alive reports whether the process id names is still running. It returns
// false, nil when the PID is gone or was reused, and an error wrapping
// ErrNotVisible when id comes from another boot or namespace.
func Alive(id Identity) (bool, error) {
	if err := checkVisible(id); err != nil {
		return false, err
	}
	cur, err := lookup(id.PID)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	// A zombie has exited: it holds nothing and runs nothing, and only
	// waits for its parent to collect its status.
	return cur.StartID == id.StartID && !zombie(id.PID), nil
}

func checkVisible(id Identity) error {
	ok, err := Visible(id)
	if err != nil {
		return err
	}
	if !ok {
		return ErrNotVisible
	}
	return nil
}

// Signal asks the process id names to terminate (SIGTERM, then SIGCONT, so
// that a stopped process acts on it), or kills it (SIGKILL) if force is
// set, after proving that the process
// now running with that PID is the same one. It never signals a process it
// has not matched: it returns ErrNotFound, ErrNotSameProcess or
// ErrNotVisible instead. On Linux the proof and the signal go through one
// pidfd, so a PID reused between the two cannot be hit; elsewhere the window
// between them is a few microseconds. On Windows every signal terminates the
// process (TerminateProcess).
func Signal(id Identity, force bool) error {
	if err := checkVisible(id); err != nil {
		return err
	}
	return signal(id, force)
}

// StartTime returns the wall-clock time at which the process id names
// started, derived from its StartID.
func StartTime(id Identity) (time.Time, error) { return startTime(id) }
