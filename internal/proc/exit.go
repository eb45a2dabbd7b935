package proc

// WatchExit returns a channel that is closed once any of the processes
// with pids has exited (or is gone already), and a function that stops
// watching. The kernel tells (Linux pidfds, through the runtime's poller):
// nothing is polled. Where it cannot tell, the channel is never closed.
func WatchExit(pids []int) (exited <-chan struct{}, stop func()) { return watchExit(pids) }
