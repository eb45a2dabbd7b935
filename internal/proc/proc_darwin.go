//go:build darwin

package proc

import (
	"errors"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// macOS reports a process's start as a timeval in kinfo_proc; StartID is
// that time in microseconds since the epoch.

func selfPID() int { return os.Getpid() }

func lookup(pid int) (Identity, error) {
	kp, err := unix.SysctlKinfoProc("kern.proc.pid", pid)
	if err != nil {
		if errors.Is(err, unix.ESRCH) {
			return Identity{}, ErrNotFound
		}
		return Identity{}, err
	}
	if kp.Proc.P_pid != int32(pid) {
		return Identity{}, ErrNotFound
	}
	tv := kp.Proc.P_starttime
	return Identity{PID: pid, StartID: uint64(tv.Sec)*1e6 + uint64(tv.Usec)}, nil
}

func startTime(id Identity) (time.Time, error) {
	return time.UnixMicro(int64(id.StartID)), nil
}

func signal(id Identity, force bool) error { return signalByPID(id, unixSignal(force)) }

// zombie reports whether pid has exited and waits to be reaped; this
// platform is not asked, and a process that has exited counts as alive
// until it is reaped.
func zombie(int) bool { return false }
