package cli

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// becomeSubreaper makes processes that the command starts and leaves
// behind come back to run as their parent, instead of to init: run then
// sees them (to wait for them, signal them and reap them) for as long as
// it lives.
func becomeSubreaper() error {
	return os.NewSyscallError("prctl", unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0))
}

// childExitSignals announce an exited child: the command, or an orphan
// to reap (see catchSignals).
var childExitSignals = []os.Signal{syscall.SIGCHLD}

// reapOrphans reaps the exited children of this process other than keep
// (the command, which os/exec waits for): orphans that came back to run
// as subreaper. It looks for zombies in /proc rather than calling wait for
// any child, which could take the command's exit status from os/exec.
// It first asks the kernel whether any child has exited at all, which
// spares the look through /proc when none has.
func reapOrphans(keep int) {
	if !childExited() {
		return
	}
	self := strconv.Itoa(os.Getpid())
	tasks, err := os.ReadDir("/proc/" + self + "/task")
	if err != nil {
		return
	}
	for _, t := range tasks {
		data, err := os.ReadFile("/proc/" + self + "/task/" + t.Name() + "/children")
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(data)) {
			pid, err := strconv.Atoi(f)
			if err != nil || pid == keep || !zombie(pid) {
				continue
			}
			var ws unix.WaitStatus
			unix.Wait4(pid, &ws, unix.WNOHANG, nil)
		}
	}
}

// childExited reports whether a child of this process has exited and
// not yet been waited for, leaving it so (WNOWAIT). If the kernel cannot
// tell, it reports true.
func childExited() bool {
	var info unix.Siginfo
	err := unix.Waitid(unix.P_ALL, 0, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT|unix.WALL, nil)
	if err == unix.ECHILD {
		return false
	}
	// The kernel clears info when no child is waitable, and sets Signo to
	// SIGCHLD when one is.
	return err != nil || info.Signo != 0
}

func zombie(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] == 'Z'
}

// awaitAnyExit waits until one of pids exits or max has passed, through
// pidfds, which become readable when their process exits.
func awaitAnyExit(pids []int, max time.Duration) {
	var fds []unix.PollFd
	for _, pid := range pids {
		fd, err := unix.PidfdOpen(pid, 0)
		if err != nil {
			return // gone already, or no pidfds: look again at once
		}
		defer unix.Close(fd)
		fds = append(fds, unix.PollFd{Fd: int32(fd), Events: unix.POLLIN})
	}
	unix.Poll(fds, int(max/time.Millisecond))
}
