package singleinstance_test

import (
	"errors"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// goneDeadline bounds waitGone; a process that was sent SIGKILL is gone in
// milliseconds.
const goneDeadline = 30 * time.Second

// waitGone waits until the process pid has exited, through a pidfd, which
// becomes readable when it does (zombie or reaped).
func waitGone(t testing.TB, pid int) {
	t.Helper()
	fd, err := unix.PidfdOpen(pid, 0)
	if errors.Is(err, unix.ESRCH) {
		return
	}
	if err != nil {
		t.Fatalf("pidfd_open %d: %v", pid, err)
	}
	defer unix.Close(fd)
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, int(goneDeadline/time.Millisecond))
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			t.Fatalf("poll pidfd %d: %v", pid, err)
		}
		if n == 0 {
			t.Fatalf("process %d still runs after %v", pid, goneDeadline)
		}
		return
	}
}
