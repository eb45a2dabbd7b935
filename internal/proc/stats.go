package proc

import "context"

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
func LiveStats(ctx context.Context, id Identity) (Stats, error) { return liveStats(ctx, id) }

// ParentPID returns the PID of the parent of the process id names, after
// checking that it is still that process.
func ParentPID(ctx context.Context, id Identity) (int, error) { return parentPID(ctx, id) }
