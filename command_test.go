package singleinstance_test

import (
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/singleinstance/singleinstance"
)

// TestStartCommandDescribesChild runs a command under a wrapper's lock:
// status names the command, KillRunning stops the command, and the
// wrapper then releases.
func TestStartCommandDescribesChild(t *testing.T) {
	t.Parallel()
	dir, opt := lockDir(t)
	w := startChild(t, roleWrap, dir, testName)
	cmdPID := wrappedPID(t, w)
	st, err := singleinstance.Status(testName, opt)
	if err != nil || !st.Running || st.Holder == nil || !st.Verified {
		t.Fatalf("Status = %+v, %v", st, err)
	}
	if st.Holder.PID != cmdPID || st.Holder.OwnerPID != w.Pid {
		t.Fatalf("holder pid %d owner %d; want command %d, owner %d", st.Holder.PID, st.Holder.OwnerPID, cmdPID, w.Pid)
	}
	killed, err := singleinstance.KillRunning(testName, false, opt)
	if err != nil || !killed {
		t.Fatalf("KillRunning = %v, %v", killed, err)
	}
	w.Expect("command ended signal: terminated")
	if code := w.ExitCode(); code != 0 {
		t.Fatalf("wrapper exit %d", code)
	}
}

// TestStartCommandDiesWithWrapper kills the wrapper with SIGKILL: the
// kernel kills the command it started too (parent-death signal), so the
// command never runs on unguarded, and the name is free once both are gone.
func TestStartCommandDiesWithWrapper(t *testing.T) {
	if runtime.GOOS != "linux" && runtime.GOOS != "freebsd" {
		t.Skip("no parent-death signal on " + runtime.GOOS)
	}
	t.Parallel()
	dir, opt := lockDir(t)
	w := startChild(t, roleWrap, dir, testName)
	cmdPID := wrappedPID(t, w)
	w.Cmd.Process.Signal(syscall.SIGKILL)
	if code := w.ExitCode(); code != -1 {
		t.Fatalf("wrapper exit %d, want killed", code)
	}
	waitGone(t, cmdPID)
	running, err := singleinstance.CheckRunning(testName, opt)
	if err != nil || running {
		t.Fatalf("CheckRunning after wrapper and command died = %v, %v; want false", running, err)
	}
}

// wrappedPID reads the wrapper's "wrapping PID" and the command's "ready
// PID" lines, which come in either order, and returns the command's PID.
func wrappedPID(t *testing.T, w *child) int {
	t.Helper()
	var wrapping, ready string
	for range 2 {
		line := w.Next()
		switch {
		case strings.HasPrefix(line, "wrapping "):
			wrapping = strings.TrimPrefix(line, "wrapping ")
		case strings.HasPrefix(line, "ready "):
			ready = strings.TrimPrefix(line, "ready ")
		default:
			t.Fatalf("unexpected line %q", line)
		}
	}
	if wrapping != ready {
		t.Fatalf("wrapper started %s, but %s is ready", wrapping, ready)
	}
	pid, err := strconv.Atoi(ready)
	if err != nil {
		t.Fatal(err)
	}
	return pid
}
