package proc

import (
	"context"
	"errors"
	"strings"

	"github.com/shirou/gopsutil/v4/process"
)

// Stats are live figures of a running process.
type Stats struct {
	// Status is the scheduler state, such as "running" or "sleep".
	Status string
	// CPUPercent is the process's CPU use averaged over its lifetime, where
	// 100 means one core fully busy.
	CPUPercent float64
	// RSS is the resident memory in bytes.
	RSS uint64
}

// LiveStats reads the live figures of the process id names, after checking
// that it is still that process. Each figure the platform cannot give is left
// zero; the error reports the first that failed.
func LiveStats(ctx context.Context, id Identity) (Stats, error) {
	alive, err := Alive(id)
	if err != nil {
		return Stats{}, err
	}
	if !alive {
		return Stats{}, ErrNotFound
	}
	p, err := process.NewProcessWithContext(ctx, int32(id.PID))
	if err != nil {
		return Stats{}, err
	}
	var s Stats
	var errs []error
	if st, err := p.StatusWithContext(ctx); err == nil {
		s.Status = strings.Join(st, ",")
	} else {
		errs = append(errs, err)
	}
	if pct, err := p.CPUPercentWithContext(ctx); err == nil {
		s.CPUPercent = pct
	} else {
		errs = append(errs, err)
	}
	if mem, err := p.MemoryInfoWithContext(ctx); err == nil {
		s.RSS = mem.RSS
	} else {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return s, errs[0]
	}
	return s, nil
}

// Description is what a process says about itself: the fields an
// operator needs to recognise it.
type Description struct {
	Executable string
	Argv       []string
	Cwd        string
	User       string
}

// Describe reads the executable, arguments, working directory and user of
// the process with pid. Fields the platform or permissions hide stay empty.
func Describe(ctx context.Context, pid int) (Description, error) {
	p, err := process.NewProcessWithContext(ctx, int32(pid))
	if err != nil {
		if errors.Is(err, process.ErrorProcessNotRunning) {
			return Description{}, ErrNotFound
		}
		return Description{}, err
	}
	var d Description
	d.Executable, _ = p.ExeWithContext(ctx)
	d.Argv, _ = p.CmdlineSliceWithContext(ctx)
	d.Cwd, _ = p.CwdWithContext(ctx)
	d.User, _ = p.UsernameWithContext(ctx)
	return d, nil
}

// ParentPID returns the PID of the parent of the process id names, after
// checking that it is still that process.
func ParentPID(ctx context.Context, id Identity) (int, error) {
	alive, err := Alive(id)
	if err != nil {
		return 0, err
	}
	if !alive {
		return 0, ErrNotFound
	}
	p, err := process.NewProcessWithContext(ctx, int32(id.PID))
	if err != nil {
		return 0, err
	}
	ppid, err := p.PpidWithContext(ctx)
	return int(ppid), err
}
