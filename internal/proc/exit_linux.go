//go:build linux

package proc

import (
	"errors"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

func watchExit(pids []int) (<-chan struct{}, func()) {
	done := make(chan struct{})
	var once sync.Once
	exited := func() { once.Do(func() { close(done) }) }
	var files []*os.File
	for _, pid := range pids {
		fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
		if errors.Is(err, unix.ESRCH) {
			exited()
			continue
		}
		if err != nil {
			continue
		}
		f := os.NewFile(uintptr(fd), "pidfd")
		rc, err := f.SyscallConn()
		if err != nil {
			f.Close()
			continue
		}
		files = append(files, f)
		go func() {
			// A pidfd polls as readable once its process has exited. The
			// runtime's poller reports only changes: each call looks
			// itself, and a failed look ends the watch as an exit would
			// (the caller then looks again at what it waits for).
			err := rc.Read(func(fd uintptr) bool {
				p := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
				n, err := unix.Poll(p, 0)
				return n > 0 || err != nil && err != unix.EINTR
			})
			if err == nil {
				exited()
			}
		}()
	}
	return done, func() {
		for _, f := range files {
			f.Close() // ends the wait of its goroutine
		}
	}
}
