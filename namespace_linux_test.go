//go:build linux

package singleinstance_test

import (
	"errors"
	"os"
	"os/exec"
	"testing"

	"github.com/singleinstance/singleinstance"
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
	c := startCmd(t, cmd)
	line := c.expect("ready")
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
	if st.Holder.Visible || st.Holder.PID != 1 {
		t.Fatalf("holder = %+v; want PID 1, not visible", st.Holder)
	}
	_, err = singleinstance.New(testName, opt)
	if !errors.Is(err, singleinstance.ErrAlreadyRunning) {
		t.Fatalf("New = %v, want ErrAlreadyRunning", err)
	}
	killed, err := singleinstance.KillRunning(testName, true, opt)
	if !errors.Is(err, singleinstance.ErrHolderNotVisible) || killed {
		t.Fatalf("KillRunning = %v, %v; want ErrHolderNotVisible", killed, err)
	}
	c.stdin.Close()
	c.expect("released")
}
