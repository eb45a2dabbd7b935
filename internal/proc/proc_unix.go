//go:build unix

package proc

import (
	"errors"
	"os"
	"syscall"
)

// signalByPID checks the start time and then signals by PID. Without pidfds
// a PID reused in the microseconds between the two could be hit; the start
// time check makes that window the only one.
func signalByPID(id Identity, sig syscall.Signal) error {
	cur, err := lookup(id.PID)
	if err != nil {
		return err
	}
	if cur.StartID != id.StartID {
		return ErrNotSameProcess
	}
	if err := syscall.Kill(id.PID, sig); err != nil {
		if errors.Is(err, syscall.ESRCH) {
			return ErrNotFound
		}
		return os.NewSyscallError("kill", err)
	}
	if sig == syscall.SIGTERM {
		// A stopped process acts on SIGTERM only once continued.
		syscall.Kill(id.PID, syscall.SIGCONT)
	}
	return nil
}

func unixSignal(force bool) syscall.Signal {
	if force {
		return syscall.SIGKILL
	}
	return syscall.SIGTERM
}
