//go:build linux

package singleinstance_test

import (
	"bytes"
	"errors"
	"github.com/singleinstance/singleinstance/internal/local"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/singleinstance/singleinstance"
	"github.com/singleinstance/singleinstance/internal/testchild"
)

// TestHolderInOtherPIDNamespace runs the holder in a PID namespace of its
// own (as a container sharing the lock directory would): the lock still
// counts, the holder is reported as not visible, and KillRunning refuses
// rather than signal whatever has the holder's PID number here.
func TestHolderInOtherPIDNamespace(t *testing.T) {
	t.Parallel()
	unshare, err := exec.LookPath("unshare")
	if err != nil || os.Geteuid() != 0 {
		t.Skip("needs root and util-linux unshare to create a PID namespace")
	}
	dir, opt := lockDir(t)
	cmd := exec.CommandContext(t.Context(), unshare, "--pid", "--fork", "--mount-proc", "--kill-child", os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childRoleEnv+"="+roleHold, "SI_DIR="+dir, "SI_NAME="+testName)
	c := testchild.Start(t, cmd)
	line := c.Expect("ready")
	if line != "ready 1" {
		t.Fatalf("holder in a new PID namespace printed %q, want PID 1", line)
	}

	running, err := singleinstance.CheckRunning(testName, opt)
	if err != nil || !running {
		t.Fatalf("CheckRunning = %v, %v; want true", running, err)
	}
	st, err := singleinstance.Status(testName, opt)
	if err != nil || !st.Running || st.Holder == nil {
		t.Fatalf("Status = %+v, %v", st, err)
	}
	if st.Visible || st.Holder.PID != 1 {
		t.Fatalf("holder = %+v; want PID 1, not visible", st.Holder)
	}
	_, err = singleinstance.New(testName, opt)
	if !errors.Is(err, singleinstance.ErrAlreadyRunning) {
		t.Fatalf("New = %v, want ErrAlreadyRunning", err)
	}
	killed, err := singleinstance.KillRunning(testName, true, opt)
	if !errors.Is(err, local.ErrHolderNotVisible) || killed {
		t.Fatalf("KillRunning = %v, %v; want ErrHolderNotVisible", killed, err)
	}
	c.Stdin.Close()
	c.Expect("released")
}

// TestHolderInPIDNamespaceWithParentProc runs the holder as PID 1 of a
// PID namespace of its own that has no /proc of its own: it sees this
// namespace's /proc, where /proc/1 is another process (this machine's
// init). The holder must still record its own start time, read through
// /proc/self, not that of the process that has its PID number here; and
// nothing may take init for it.
func TestHolderInPIDNamespaceWithParentProc(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create a PID namespace")
	}
	dir, opt := lockDir(t)
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childRoleEnv+"="+roleHold, "SI_DIR="+dir, "SI_NAME="+testName)
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID, Pdeathsig: syscall.SIGKILL}
	c := testchild.Start(t, cmd)
	if line := c.Expect("ready"); line != "ready 1" {
		t.Fatalf("holder in a new PID namespace printed %q, want PID 1", line)
	}
	// The holder's start time as this namespace sees it, under its PID
	// here.
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(c.Pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	want, err := strconv.ParseUint(fields[22-3], 10, 64)
	if err != nil {
		t.Fatal(err)
	}

	st, err := singleinstance.Status(testName, opt)
	if err != nil || !st.Running || st.Holder == nil {
		t.Fatalf("Status = %+v, %v", st, err)
	}
	h := st.Holder
	if h.PID != 1 || st.Visible {
		t.Fatalf("holder = pid %d, visible %v; want PID 1, not visible", h.PID, st.Visible)
	}
	if h.StartID != want {
		t.Errorf("holder recorded start %d, want %d, its own (init's is not it)", h.StartID, want)
	}
	killed, err := singleinstance.KillRunning(testName, true, opt)
	if !errors.Is(err, local.ErrHolderNotVisible) || killed {
		t.Fatalf("KillRunning = %v, %v; want ErrHolderNotVisible", killed, err)
	}
	c.Stdin.Close()
	c.Expect("released")
}
