//go:build windows

package proc

import (
	"errors"
	"os"
	"time"

	"golang.org/x/sys/windows"
)

// Windows: StartID is the creation time from GetProcessTimes, in 100 ns
// intervals since 1601. A process handle pins the process, so checking and
// terminating through one handle cannot hit a reused PID.

func selfPID() int { return os.Getpid() }

func openProcess(pid int, access uint32) (windows.Handle, error) {
	h, err := windows.OpenProcess(access, false, uint32(pid))
	if errors.Is(err, windows.ERROR_INVALID_PARAMETER) {
		return 0, ErrNotFound
	}
	return h, err
}

func creation(h windows.Handle) (uint64, error) {
	var c, e, k, u windows.Filetime
	if err := windows.GetProcessTimes(h, &c, &e, &k, &u); err != nil {
		return 0, err
	}
	return uint64(c.HighDateTime)<<32 | uint64(c.LowDateTime), nil
}

func exited(h windows.Handle) bool {
	var code uint32
	return windows.GetExitCodeProcess(h, &code) == nil && code != 259 // STILL_ACTIVE
}

func lookup(pid int) (Identity, error) {
	h, err := openProcess(pid, windows.PROCESS_QUERY_LIMITED_INFORMATION)
	if err != nil {
		return Identity{}, err
	}
	defer windows.CloseHandle(h)
	if exited(h) {
		return Identity{}, ErrNotFound
	}
	start, err := creation(h)
	if err != nil {
		return Identity{}, err
	}
	return Identity{PID: pid, StartID: start}, nil
}

func startTime(id Identity) (time.Time, error) {
	ft := windows.Filetime{LowDateTime: uint32(id.StartID), HighDateTime: uint32(id.StartID >> 32)}
	return time.Unix(0, ft.Nanoseconds()), nil
}

func signal(id Identity, force bool) error {
	h, err := openProcess(id.PID, windows.PROCESS_TERMINATE|windows.PROCESS_QUERY_LIMITED_INFORMATION)
	if err != nil {
		return err
	}
	defer windows.CloseHandle(h)
	if exited(h) {
		return ErrNotFound
	}
	start, err := creation(h)
	if err != nil {
		return err
	}
	if start != id.StartID {
		return ErrNotSameProcess
	}
	return windows.TerminateProcess(h, 1)
}

// zombie reports whether pid has exited and waits to be reaped; this
// platform is not asked, and a process that has exited counts as alive
// until it is reaped.
func zombie(int) bool { return false }
