package singleinstance_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/singleinstance/singleinstance"
)

// TestCommandHolderUndescribed: a holder that took the lock for a command
// it has not started yet (WithCommandHolder) has written no .info or .pid
// file. It must still read as running, with the kernel's holding process;
// a newcomer must be refused, even after every file of the lock directory
// is deleted; and KillRunning must stop it.
func TestCommandHolderUndescribed(t *testing.T) {
	t.Parallel()
	dir, opt := lockDir(t)
	holder := startChild(t, rolePending, dir, testName)
	holder.Expect("ready")

	for _, ext := range []string{".info", ".pid"} {
		if _, err := os.Lstat(filepath.Join(dir, testName+ext)); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s file before the command starts: %v, want none", ext, err)
		}
	}
	st, err := singleinstance.Status(testName, opt)
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, h := range st.Holding {
		pids = append(pids, h.PID)
	}
	if !st.Running || st.Holder != nil || st.Verified || !slices.Contains(pids, holder.Pid) {
		t.Fatalf("Status of an undescribed holder: running %v, holder %v, verified %v, holding %v; want running, no holder, holding pid %d",
			st.Running, st.Holder, st.Verified, pids, holder.Pid)
	}
	if _, err := singleinstance.New(testName, opt); !errors.Is(err, singleinstance.ErrAlreadyRunning) {
		t.Fatalf("New beside an undescribed holder = %v, want ErrAlreadyRunning", err)
	}

	// A cleaner deletes everything: with no description to follow, the
	// name token still shows the holder to a newcomer.
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	if inst, err := singleinstance.New(testName, opt); !errors.Is(err, singleinstance.ErrAlreadyRunning) {
		if err == nil {
			inst.Release()
		}
		t.Fatalf("New after the lock directory was emptied = %v, want ErrAlreadyRunning", err)
	}

	stopped, err := singleinstance.KillRunning(testName, false, opt)
	if err != nil || !stopped {
		t.Fatalf("KillRunning of an undescribed holder = %v, %v; want true, nil", stopped, err)
	}
	<-holder.Exited()
	if running, err := singleinstance.CheckRunning(testName, opt); err != nil || running {
		t.Fatalf("CheckRunning after the stop = %v, %v; want false", running, err)
	}
}
