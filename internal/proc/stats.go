package proc

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
