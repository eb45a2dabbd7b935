package singleinstance_test

import (
	"fmt"
	"os"
	"runtime"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// awaitExitLeavingZombie waits until the child pid has exited, leaving it
// a zombie for its parent to reap (WNOWAIT).
func awaitExitLeavingZombie(pid int) {
	var info unix.Siginfo
	for unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil) == unix.EINTR {
	}
}

func init() {
	// The main goroutine must run on the main thread for runThreadExit to
	// end that thread; only init can pin it there.
	if os.Getenv(childRoleEnv) == roleThreadExit {
		runtime.LockOSThread()
	}
}

// runThreadExit is roleThreadExit: it ends the main thread alone
// (SYS_EXIT, not exit_group), while a goroutine on another thread keeps
// the process, and its descriptors, alive.
func runThreadExit() int {
	unix.Prctl(unix.PR_SET_PDEATHSIG, 0, 0, 0, 0)
	go func() {
		for {
			time.Sleep(time.Hour)
		}
	}()
	fmt.Printf("ready %d\n", os.Getpid())
	syscall.RawSyscall(syscall.SYS_EXIT, 0, 0, 0)
	return 0 // not reached
}
