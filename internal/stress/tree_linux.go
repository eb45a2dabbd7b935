//go:build linux

package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// treeSupported reports whether tree rounds can be played: a command
// started with StartCommand inherits the lock and the name token, is
// killed by the kernel with its wrapper, and the coordinator can prove
// the exit of a process it did not start (pidfd).
const treeSupported = true

// becomeSubreaper makes the orphans of the trees (a command's child once
// the command exits, a command once its wrapper is killed) children of the
// coordinator, so that it reaps them.
func becomeSubreaper() error {
	return os.NewSyscallError("prctl", unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0))
}

// commandMain is a tree round's command: it starts a background child that
// keeps the lock's descriptors (3, and 4, the name token, if open; with
// lockOnlyEnv set, 3 only) and outlives it, prints the child's PID, and
// exits, or, with stayEnv set, waits until the kernel kills it with its
// wrapper (or SIGTERM).
func commandMain() error {
	signal.Ignore(os.Interrupt)
	stay := os.Getenv(stayEnv) != ""
	term := make(chan os.Signal, 1)
	if stay {
		signal.Notify(term, syscall.SIGTERM)
	}
	round, err := strconv.Atoi(os.Getenv(roundEnv))
	if err != nil {
		return fmt.Errorf("%s: %v", roundEnv, err)
	}
	pid, winner := os.Getpid(), os.Getppid()
	j, err := os.OpenFile(os.Getenv(journalEnv), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	if _, err := io.WriteString(j, joinLine(pid, winner, round)); err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	child := exec.Command(exe)
	child.Env = append(os.Environ(), workerRoleEnv+"="+childRole, winnerEnv+"="+strconv.Itoa(winner))
	child.Stderr = os.Stderr
	child.ExtraFiles = inheritedLock()
	if os.Getenv(lockOnlyEnv) != "" {
		// Once the wrapper is killed and every file deleted, only the
		// kernel's lock on the deleted file shows this child. Descriptor
		// 4 came from the wrapper without close-on-exec: without it, the
		// child would inherit it as it is.
		child.ExtraFiles = child.ExtraFiles[:1]
		unix.CloseOnExec(4)
	}
	out, err := child.StdoutPipe()
	if err != nil {
		return err
	}
	if err := child.Start(); err != nil {
		return err
	}
	sc := bufio.NewScanner(out)
	if !sc.Scan() || sc.Text() != "ready" {
		return fmt.Errorf("child %d did not get ready: %v", child.Process.Pid, sc.Err())
	}
	// Not waited for: it outlives this process.
	if _, err := fmt.Fprintf(os.Stdout, "%d\n", child.Process.Pid); err != nil {
		return err
	}
	if stay {
		<-term
	}
	_, err = io.WriteString(j, leaveLine(pid, round))
	return err
}

// inheritedLock returns the descriptors StartCommand passed: 3, the lock,
// and 4, the name token, if it is open.
func inheritedLock() []*os.File {
	files := []*os.File{os.NewFile(3, "lock")}
	if _, err := unix.FcntlInt(4, unix.F_GETFD, 0); err == nil {
		files = append(files, os.NewFile(4, "token"))
	}
	return files
}

// childMain is a command's background child: it holds descriptors 3 and 4
// as it inherited them until SIGUSR1 (the coordinator tells it to exit) or
// SIGTERM (KillRunning), then journals its end and exits.
func childMain() error {
	signal.Ignore(os.Interrupt)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGUSR1, syscall.SIGTERM)
	round, err := strconv.Atoi(os.Getenv(roundEnv))
	if err != nil {
		return fmt.Errorf("%s: %v", roundEnv, err)
	}
	winner, err := strconv.Atoi(os.Getenv(winnerEnv))
	if err != nil {
		return fmt.Errorf("%s: %v", winnerEnv, err)
	}
	pid := os.Getpid()
	j, err := os.OpenFile(os.Getenv(journalEnv), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	if _, err := io.WriteString(j, joinLine(pid, winner, round)); err != nil {
		return err
	}
	if _, err := io.WriteString(os.Stdout, "ready\n"); err != nil {
		return err
	}
	os.Stdout.Close()
	<-sig
	_, err = io.WriteString(j, leaveLine(pid, round))
	return err
}

// A pidHandle follows a process of a tree through a pidfd, which keeps
// naming it even after it exits and its PID is reused.
type pidHandle struct {
	pid int
	fd  int
}

// openPID opens a pidfd for pid. The caller must know that pid still names
// the process it means: it runs, or it is a zombie no one has reaped.
func openPID(pid int) (*pidHandle, error) {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return nil, os.NewSyscallError("pidfd_open", err)
	}
	return &pidHandle{pid: pid, fd: fd}, nil
}

// exited waits up to d for the process to exit, and reports whether it did.
// Once it returns true the process has exited: its descriptors are closed.
func (h *pidHandle) exited(d time.Duration) (bool, error) {
	deadline := time.Now().Add(d)
	for {
		ms := int(time.Until(deadline).Milliseconds())
		fds := []unix.PollFd{{Fd: int32(h.fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, max(ms, 0))
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil:
			return false, os.NewSyscallError("poll", err)
		case n > 0:
			return true, nil
		case ms <= 0:
			return false, nil
		}
	}
}

// tellExit asks a tree's child to journal its end and exit (SIGUSR1).
func (h *pidHandle) tellExit() error { return h.signal(unix.SIGUSR1) }

// kill sends SIGKILL.
func (h *pidHandle) kill() error { return h.signal(unix.SIGKILL) }

func (h *pidHandle) signal(sig syscall.Signal) error {
	return os.NewSyscallError("pidfd_send_signal", unix.PidfdSendSignal(h.fd, sig, nil, 0))
}

// reap collects the exited process if it is a child of this one (an orphan
// adopted as subreaper), and closes the pidfd.
func (h *pidHandle) reap() {
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PIDFD, h.fd, &info, unix.WEXITED|unix.WNOHANG, nil)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	unix.Close(h.fd)
}
