//go:build !linux

package proc

import (
	"context"
	"strings"

	"github.com/shirou/gopsutil/v4/process"
)

func liveStats(ctx context.Context, id Identity) (Stats, error) {
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

func parentPID(ctx context.Context, id Identity) (int, error) {
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
