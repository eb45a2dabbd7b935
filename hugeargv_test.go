package singleinstance_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/singleinstance/singleinstance"
	"github.com/singleinstance/singleinstance/internal/testchild"
)

// hostileArgs returns n arguments of size bytes each, made of every
// control character but NUL (which cannot be in an argument): each byte
// takes four in the .info file's escaped form.
func hostileArgs(n, size int) []string {
	var ctl []byte
	for c := byte(1); c < 0x20; c++ {
		ctl = append(ctl, c)
	}
	ctl = append(ctl, 0x7f)
	args := make([]string, n)
	for i := range args {
		b := make([]byte, size)
		for j := range b {
			b[j] = ctl[(i+j)%len(ctl)]
		}
		args[i] = string(b)
	}
	return args
}

// hostileDir creates a directory of about 3000 bytes of path made of
// control characters (and "\n\x1b[2J"), below base.
func hostileDir(t *testing.T, base string) string {
	t.Helper()
	dir := base
	for i := range 15 {
		name := strings.Repeat("\x01\x1b[2J\n\t\x7f", 25)[:190] + string(rune('a'+i))
		dir = filepath.Join(dir, name)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestHugeHostileArgvHolder runs a holder with 1 MiB of control characters
// in its argv (16 arguments of 64 KiB) and a working directory of control
// characters. Its .info file must stay within MaxInfoSize, so that the
// holder can still be described, proven, stopped and replaced; the
// description says that the argv and cwd were cut.
func TestHugeHostileArgvHolder(t *testing.T) {
	t.Parallel()
	dir, opt := lockDir(t)
	cwd := hostileDir(t, t.TempDir())
	args := append([]string{"-test.run=^$"}, hostileArgs(16, 64<<10)...)
	cmd := exec.CommandContext(t.Context(), os.Args[0], args...)
	cmd.Env = append(os.Environ(), childRoleEnv+"="+roleHold, "SI_DIR="+dir, "SI_NAME="+testName)
	cmd.Dir = cwd
	holder := testchild.Start(t, cmd)
	holder.Expect("ready")

	fi, err := os.Stat(filepath.Join(dir, testName+".info"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() > singleinstance.MaxInfoSize {
		t.Fatalf(".info file is %d bytes, more than MaxInfoSize (%d)", fi.Size(), singleinstance.MaxInfoSize)
	}

	st, err := singleinstance.Status(testName, opt)
	if err != nil || !st.Running || st.Holder == nil || !st.Verified {
		t.Fatalf("Status = %+v, %v; want running, verified, described", st, err)
	}
	h := st.Holder
	if h.PID != holder.Pid || !st.Visible {
		t.Fatalf("holder pid %d visible %v, want pid %d visible", h.PID, st.Visible, holder.Pid)
	}
	last := h.Argv[len(h.Argv)-1]
	if !strings.HasPrefix(last, "…[truncated: ") || !strings.HasSuffix(last, " args]") {
		t.Errorf("last recorded argument = %q, want a truncation marker", last)
	}
	if h.Argv[0] != os.Args[0] || h.Argv[1] != "-test.run=^$" {
		t.Errorf("recorded argv starts %q, want the real start of the command line", h.Argv[:2])
	}
	if !strings.HasSuffix(h.Cwd, "]") || !strings.Contains(h.Cwd, "…[truncated: ") || !strings.HasPrefix(cwd, strings.Split(h.Cwd, "…[truncated: ")[0]) {
		t.Errorf("recorded cwd = %q, want a prefix of the real one and a truncation marker", h.Cwd)
	}

	// A second start sees the holder's details, not ErrInfoTooLarge.
	_, err = singleinstance.New(testName, opt)
	var conflict *singleinstance.AlreadyRunningError
	if !errors.As(err, &conflict) || conflict.Holder == nil || conflict.HolderErr != nil {
		t.Fatalf("New while held = %v; want a conflict naming the holder", err)
	}

	// It can be stopped, and replaced.
	stopped, err := singleinstance.KillRunning(testName, false, opt)
	if err != nil || !stopped {
		t.Fatalf("KillRunning = %v, %v; want true, nil", stopped, err)
	}
	expectStopped(t, holder, false)
	inst, err := singleinstance.New(testName, opt)
	if err != nil {
		t.Fatalf("New after the stop: %v", err)
	}
	if err := inst.Release(); err != nil {
		t.Fatal(err)
	}
}
