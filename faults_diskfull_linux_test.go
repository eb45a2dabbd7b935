//go:build linux

package singleinstance_test

// Fault tests: a full file system.
// The shared helpers and the overview are in faults_helpers_linux_test.go.

import (
	"bytes"
	"errors"
	"github.com/singleinstance/singleinstance/internal/local"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/singleinstance/singleinstance"
)

// Full file system.

// faultFill writes a file in dir, a page at a time, until the file system
// is full, and returns its path and size.
func faultFill(t *testing.T, dir string) (string, int64) {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	page := bytes.Repeat([]byte{0xa5}, os.Getpagesize())
	var size int64
	for {
		n, err := f.Write(page)
		size += int64(n)
		if errors.Is(err, syscall.ENOSPC) {
			break
		}
		if err != nil {
			t.Fatalf("fill %s: %v", path, err)
		}
		if size > 64<<20 {
			t.Fatalf("fill %s: wrote %d bytes and the file system is still not full", path, size)
		}
	}
	t.Logf("filled %s with %d bytes", dir, size)
	// Prove it is full: not one more byte fits.
	if err := os.WriteFile(filepath.Join(dir, "probe"), []byte("x"), 0o600); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("file system not full after filling: %v", err)
	}
	os.Remove(filepath.Join(dir, "probe"))
	return path, size
}

// faultAssertLockFreeAfter proves the lock is free after a failure:
// CheckRunning says so, and New succeeds once free has given the space back.
func faultAssertLockFreeAfter(t *testing.T, free func(), opts ...singleinstance.Option) {
	t.Helper()
	running, err := singleinstance.CheckRunning(faultName, opts...)
	if err != nil || running {
		t.Fatalf("CheckRunning after the failure = %v, %v; want false, nil", running, err)
	}
	free()
	inst := faultMustNew(t, opts...)
	faultAssertHeldByMe(t, opts...)
	faultMustRelease(t, inst)
}

func TestFaultDiskFull(t *testing.T) {
	t.Parallel()

	t.Run("lock record cannot be written", func(t *testing.T) {
		t.Parallel()
		dir := faultTmpfs(t, 0, "size=64k,mode=0700")
		opt := singleinstance.WithLockDir(dir)
		filler, _ := faultFill(t, dir)
		err := faultExpectNewFails(t, local.ErrDiskFull, opt)
		if !errors.Is(err, syscall.ENOSPC) {
			t.Errorf("New: %v does not match ENOSPC", err)
		}
		// The empty lock file may remain; nothing else may.
		for _, name := range faultDirNames(t, dir) {
			if name != "filler" && name != faultName+".lock" {
				t.Errorf("left behind %s", name)
			}
		}
		faultAssertLockFreeAfter(t, func() { os.Remove(filler) }, opt)
	})

	t.Run("info file cannot be written", func(t *testing.T) {
		t.Parallel()
		dir := faultTmpfs(t, 0, "size=64k,mode=0700")
		opt := singleinstance.WithLockDir(dir)
		// A previous holder leaves the lock file, record included, so
		// locking and rewriting the record in place need no new space.
		faultMustRelease(t, faultMustNew(t, opt))
		filler, _ := faultFill(t, dir)
		err := faultExpectNewFails(t, local.ErrDiskFull, opt)
		if err != nil && !strings.Contains(err.Error(), faultName+".info") {
			t.Errorf("New failed before writing the .info file: %v", err)
		}
		faultAssertDirHolds(t, dir, "filler", faultName+".lock")
		faultAssertLockFreeAfter(t, func() { os.Remove(filler) }, opt)
	})

	t.Run("pid file cannot be written", func(t *testing.T) {
		t.Parallel()
		dir := faultTmpfs(t, 0, "size=64k,mode=0700")
		opt := singleinstance.WithLockDir(dir)
		faultMustRelease(t, faultMustNew(t, opt))
		filler, size := faultFill(t, dir)
		// One page free: enough for the .info file, not for the .pid.
		if err := os.Truncate(filler, size-int64(os.Getpagesize())); err != nil {
			t.Fatal(err)
		}
		err := faultExpectNewFails(t, local.ErrDiskFull, opt)
		if err != nil && !strings.Contains(err.Error(), faultName+".pid") {
			t.Errorf("New did not fail on the .pid file: %v", err)
		}
		// The .info file it did write is taken back.
		faultAssertDirHolds(t, dir, "filler", faultName+".lock")
		faultAssertLockFreeAfter(t, func() { os.Remove(filler) }, opt)
	})

	t.Run("no inodes left", func(t *testing.T) {
		t.Parallel()
		dir := faultTmpfs(t, 0, "size=1m,nr_inodes=16,mode=0700")
		opt := singleinstance.WithLockDir(dir)
		var fillers []string
		for i := 0; ; i++ {
			p := filepath.Join(dir, "filler"+strconv.Itoa(i))
			err := os.WriteFile(p, nil, 0o600)
			if errors.Is(err, syscall.ENOSPC) {
				break
			}
			if err != nil || i > 100 {
				t.Fatalf("fill inodes: %v after %d files", err, i)
			}
			fillers = append(fillers, p)
		}
		t.Logf("used up the inodes with %d files", len(fillers))
		faultExpectNewFails(t, local.ErrDiskFull, opt)
		faultAssertAbsent(t, faultPath(dir, ".lock"))
		faultAssertLockFreeAfter(t, func() {
			for _, p := range fillers {
				os.Remove(p)
			}
		}, opt)
	})
}
