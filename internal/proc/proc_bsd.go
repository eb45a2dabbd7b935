//go:build unix && !linux && !darwin

package proc

import (
	"errors"
	"os"
	"time"

	"github.com/shirou/gopsutil/v4/process"
)

// The BSDs and other Unix systems: StartID is the creation time in
// milliseconds since the epoch as gopsutil reads it from the kernel.

func selfPID() int { return os.Getpid() }

func lookup(pid int) (Identity, error) {
	p, err := process.NewProcess(int32(pid))
	if err != nil {
		if errors.Is(err, process.ErrorProcessNotRunning) {
			return Identity{}, ErrNotFound
		}
		return Identity{}, err
	}
	ms, err := p.CreateTime()
	if err != nil {
		return Identity{}, err
	}
	return Identity{PID: pid, StartID: uint64(ms)}, nil
}

func startTime(id Identity) (time.Time, error) { return time.UnixMilli(int64(id.StartID)), nil }

func signal(id Identity, force bool) error { return signalByPID(id, unixSignal(force)) }

// zombie reports whether pid has exited and waits to be reaped; this
// platform is not asked, and a process that has exited counts as alive
// until it is reaped.
func zombie(int) bool { return false }
