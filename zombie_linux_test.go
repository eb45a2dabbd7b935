package singleinstance_test

import "golang.org/x/sys/unix"

// awaitExitLeavingZombie waits until the child pid has exited, leaving it
// a zombie for its parent to reap (WNOWAIT).
func awaitExitLeavingZombie(pid int) {
	var info unix.Siginfo
	for unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil) == unix.EINTR {
	}
}
