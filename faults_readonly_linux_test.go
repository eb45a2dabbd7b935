//go:build linux

package singleinstance_test

// Fault tests: a read-only lock directory.
// The shared helpers and the overview are in faults_helpers_linux_test.go.

import (
	"errors"
	"github.com/singleinstance/singleinstance/internal/local"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/singleinstance/singleinstance"
)

// Read-only lock directory.

func TestFaultReadOnlyLockDir(t *testing.T) {
	t.Parallel()

	t.Run("empty read-only tmpfs", func(t *testing.T) {
		t.Parallel()
		dir := faultTmpfs(t, syscall.MS_RDONLY, "size=64k,mode=0755")
		opt := singleinstance.WithLockDir(dir)
		err := faultExpectNewFails(t, local.ErrReadOnly, opt)
		if !errors.Is(err, syscall.EROFS) {
			t.Errorf("New: %v does not match EROFS", err)
		}
		if st := faultNotRunning(t, opt); st.Stale {
			t.Errorf("Status reports stale files in an empty directory: %+v", st)
		}
		faultAssertDirHolds(t, dir)
	})

	t.Run("missing lock directory on read-only tmpfs", func(t *testing.T) {
		t.Parallel()
		dir := filepath.Join(faultTmpfs(t, syscall.MS_RDONLY, "size=64k,mode=0755"), "locks")
		opt := singleinstance.WithLockDir(dir)
		faultExpectNewFails(t, local.ErrReadOnly, opt)
		faultNotRunning(t, opt)
		faultAssertAbsent(t, dir)
	})

	t.Run("read-only view of stale files", func(t *testing.T) {
		t.Parallel()
		rw := t.TempDir()
		faultMustRelease(t, faultMustNew(t, singleinstance.WithLockDir(rw), singleinstance.WithCleanupOnExit(false)))
		files := []string{faultPath(rw, ".lock"), faultPath(rw, ".pid"), faultPath(rw, ".info")}
		var before []faultSnap
		for _, f := range files {
			before = append(before, faultSnapshot(t, f))
		}
		ro := faultReadOnlyBind(t, rw)
		opt := singleinstance.WithLockDir(ro)
		faultExpectNewFails(t, local.ErrReadOnly, opt)
		if st := faultNotRunning(t, opt); !st.Stale {
			t.Errorf("Status through the read-only view = %+v, want stale files reported", st)
		}
		for i, f := range files {
			faultAssertUnchanged(t, f, before[i])
		}
		faultAssertDirHolds(t, rw, faultName+".lock", faultName+".pid", faultName+".info")
	})

	t.Run("read-only view of a held lock", func(t *testing.T) {
		t.Parallel()
		rw := t.TempDir()
		inst := faultMustNew(t, singleinstance.WithLockDir(rw))
		ro := faultReadOnlyBind(t, rw)
		opt := singleinstance.WithLockDir(ro)
		running, err := singleinstance.CheckRunning(faultName, opt)
		if err != nil || !running {
			t.Errorf("CheckRunning through the read-only view = %v, %v; want true, nil", running, err)
		}
		faultAssertHeldByMe(t, opt)
		// The lock file cannot be opened for writing there, so New fails
		// before it can ask who holds the lock.
		faultExpectNewFails(t, local.ErrReadOnly, opt)
		faultMustRelease(t, inst)
	})
}
