//go:build linux

package singleinstance_test

// Fault-injection and hostile-filesystem tests: read-only and full file
// systems, directories and files owned by other users, damaged or planted
// .pid/.info files, special files at the lock path, symbolic and hard links
// aimed at victim files, bad lock directories, and the network file system
// warning. The machine and CI run as root, so the tests mount real tmpfs,
// bind and FUSE file systems on t.TempDir() mount points; they skip, with
// the reason logged, only when not root or when mounting is not permitted.
//
// One file per scenario: faults_readonly (read-only lock directory),
// faults_diskfull (full file system), faults_foreign (directory and lock
// file owned by another user), faults_corrupt (damaged .pid and .info
// files), faults_paths (special files and planted links at the lock path,
// bad lock directories) and faults_netfs (the network file system warning,
// on tmpfs and on the FUSE server of internal/fusetest). This file holds
// the helpers they share.

import (
	"bytes"
	"errors"
	"github.com/singleinstance/singleinstance/internal/local"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/singleinstance/singleinstance"
)

// faultName is the lock name every test here uses, each in its own
// directory.
const faultName = "faultapp"

// faultHangLimit turns a hang into a test failure with a clear message. It
// never orders events: every call it guards is expected to return at once.
const faultHangLimit = time.Minute

// faultNobody is the other user that owns planted files and directories.
const faultNobody = 65534

// faultSentinels are the errors a fault may match, by name, for reports
// from child processes.
var faultSentinels = []struct {
	name string
	err  error
}{
	{"ErrAlreadyRunning", singleinstance.ErrAlreadyRunning},
	{"ErrInvalidName", singleinstance.ErrInvalidName},
	{"ErrInvalidLockDir", local.ErrInvalidLockDir},
	{"ErrLockDirUnusable", singleinstance.ErrLockDirUnusable},
	{"ErrInsecureLockDir", local.ErrInsecureLockDir},
	{"ErrPermission", local.ErrPermission},
	{"ErrReadOnly", local.ErrReadOnly},
	{"ErrDiskFull", local.ErrDiskFull},
	{"ErrForeignLockFile", local.ErrForeignLockFile},
	{"ErrNotRegularFile", local.ErrNotRegularFile},
	{"ErrCorruptInfo", singleinstance.ErrCorruptInfo},
	{"ErrInfoTooLarge", local.ErrInfoTooLarge},
	{"ErrHolderUnproven", singleinstance.ErrHolderUnproven},
	{"fs.ErrPermission", fs.ErrPermission},
}

func faultRequireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skipf("skipping: needs root for mounts, chown and child credentials; running as euid %d", os.Geteuid())
	}
}

// faultMount mounts and arranges a lazy unmount at cleanup. It skips the
// test if mounting is not permitted here.
func faultMount(t *testing.T, source, target, fstype string, flags uintptr, data string) {
	t.Helper()
	faultRequireRoot(t)
	t.Logf("mount(%q, %q, %q, %#x, %q)", source, target, fstype, flags, data)
	if err := syscall.Mount(source, target, fstype, flags, data); err != nil {
		if errors.Is(err, syscall.EPERM) {
			t.Skipf("skipping: mount %s on %s: %v (mounting is not permitted here)", fstype, target, err)
		}
		t.Fatalf("mount %s on %s: %v", fstype, target, err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(target, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", target, err)
		}
	})
}

// faultTmpfs mounts a fresh tmpfs with the given options on a new
// temporary directory and returns it.
func faultTmpfs(t *testing.T, flags uintptr, data string) string {
	t.Helper()
	dir := t.TempDir()
	faultMount(t, "singleinstance-faults", dir, "tmpfs", flags|syscall.MS_NOSUID|syscall.MS_NODEV, data)
	return dir
}

// faultReadOnlyBind returns a read-only view of src.
func faultReadOnlyBind(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	faultMount(t, src, dst, "", syscall.MS_BIND, "")
	t.Logf("remount %s read-only", dst)
	if err := syscall.Mount("", dst, "", syscall.MS_BIND|syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
		if errors.Is(err, syscall.EPERM) {
			t.Skipf("skipping: read-only remount of %s: %v", dst, err)
		}
		t.Fatalf("read-only remount of %s: %v", dst, err)
	}
	return dst
}

// faultAssertErr checks that err matches want and is not a conflict: a
// fault must never be reported as another instance running.
func faultAssertErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: got nil error, want one matching %v", what, want)
		return
	}
	t.Logf("%s: %v", what, err)
	if !errors.Is(err, want) {
		t.Errorf("%s: error %q does not match %v", what, err, want)
	}
	var conflict *singleinstance.AlreadyRunningError
	if errors.Is(err, singleinstance.ErrAlreadyRunning) || errors.As(err, &conflict) {
		t.Errorf("%s: fault %q is reported as another instance running", what, err)
	}
}

// faultExpectNewFails calls New, which must fail with want.
func faultExpectNewFails(t *testing.T, want error, opts ...singleinstance.Option) error {
	t.Helper()
	inst, err := singleinstance.New(faultName, opts...)
	if err == nil {
		inst.Release()
		t.Errorf("New succeeded, want an error matching %v", want)
		return nil
	}
	faultAssertErr(t, "New", err, want)
	return err
}

// faultMustNew calls New, which must succeed; the instance is released at
// cleanup at the latest.
func faultMustNew(t *testing.T, opts ...singleinstance.Option) *singleinstance.Instance {
	t.Helper()
	inst, err := singleinstance.New(faultName, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Logf("New: holding %s, token %d", inst.LockPath(), inst.Token())
	t.Cleanup(func() { inst.Release() })
	return inst
}

func faultMustRelease(t *testing.T, inst *singleinstance.Instance) {
	t.Helper()
	if err := inst.Release(); err != nil {
		t.Fatalf("Release: %v", err)
	}
}

// faultNotRunning checks that CheckRunning, Status and KillRunning all see
// nothing running and say so without error.
func faultNotRunning(t *testing.T, opts ...singleinstance.Option) *singleinstance.State {
	t.Helper()
	var (
		running bool
		st      *singleinstance.State
		killed  bool
		errs    [3]error
	)
	faultNoHang(t, "CheckRunning, Status and KillRunning", func() {
		running, errs[0] = singleinstance.CheckRunning(faultName, opts...)
		st, errs[1] = singleinstance.Status(faultName, opts...)
		killed, errs[2] = singleinstance.KillRunning(faultName, true, opts...)
	})
	if running || errs[0] != nil {
		t.Errorf("CheckRunning = %v, %v; want false, nil", running, errs[0])
	}
	if errs[1] != nil {
		t.Fatalf("Status: %v", errs[1])
	}
	if st.Running || st.Holder != nil {
		t.Errorf("Status = %+v; want not running and no holder", st)
	}
	if killed || errs[2] != nil {
		t.Errorf("KillRunning = %v, %v; want false, nil", killed, errs[2])
	}
	t.Logf("not running; stale %v, holder error %q", st.Stale, st.HolderError)
	return st
}

// faultProbeFails checks that CheckRunning, Status and KillRunning fail with
// want, promptly.
func faultProbeFails(t *testing.T, want error, opts ...singleinstance.Option) {
	t.Helper()
	var (
		running bool
		st      *singleinstance.State
		killed  bool
		errs    [3]error
	)
	faultNoHang(t, "CheckRunning, Status and KillRunning", func() {
		running, errs[0] = singleinstance.CheckRunning(faultName, opts...)
		st, errs[1] = singleinstance.Status(faultName, opts...)
		killed, errs[2] = singleinstance.KillRunning(faultName, true, opts...)
	})
	faultAssertErr(t, "CheckRunning", errs[0], want)
	faultAssertErr(t, "Status", errs[1], want)
	faultAssertErr(t, "KillRunning", errs[2], want)
	if running || st != nil || killed {
		t.Errorf("failed probes returned results: running %v, state %+v, killed %v", running, st, killed)
	}
}

// faultNoHang runs fn and fails the test if it has not returned within
// faultHangLimit.
func faultNoHang(t *testing.T, what string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	select {
	case <-done:
	case <-time.After(faultHangLimit):
		t.Fatalf("%s did not return within %v: it hangs", what, faultHangLimit)
	}
}

func faultHolderErrorMentions(t *testing.T, st *singleinstance.State, want error) {
	t.Helper()
	if !strings.Contains(st.HolderError, want.Error()) {
		t.Errorf("HolderError = %q, want it to report %q", st.HolderError, want)
	}
}

// faultDirNames lists dir.
func faultDirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("read %s: %v", dir, err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func faultAssertDirHolds(t *testing.T, dir string, want ...string) {
	t.Helper()
	got := faultDirNames(t, dir)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("%s holds %q, want exactly %q", dir, got, want)
	}
}

func faultPath(dir, ext string) string { return filepath.Join(dir, faultName+ext) }

// faultSnap is what must not change about a victim file.
type faultSnap struct {
	data  []byte
	mode  fs.FileMode
	mtime time.Time
	uid   uint32
	nlink uint64
}

// faultVictim creates a file whose content, mode and time are checked
// later, with a modification time in the past so any write shows.
func faultVictim(t *testing.T, path, content string, mode fs.FileMode) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	past := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	if err := os.Chtimes(path, past, past); err != nil {
		t.Fatal(err)
	}
	return path
}

func faultSnapshot(t *testing.T, path string) faultSnap {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatalf("victim: %v", err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("victim: %v", err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return faultSnap{data: data, mode: fi.Mode(), mtime: fi.ModTime(), uid: st.Uid, nlink: uint64(st.Nlink)}
}

func faultAssertUnchanged(t *testing.T, path string, before faultSnap) {
	t.Helper()
	after := faultSnapshot(t, path)
	if !bytes.Equal(after.data, before.data) {
		t.Errorf("victim %s was written: %q, was %q", path, after.data, before.data)
	}
	if after.mode != before.mode || after.uid != before.uid {
		t.Errorf("victim %s mode/owner changed: %v uid %d, was %v uid %d", path, after.mode, after.uid, before.mode, before.uid)
	}
	if !after.mtime.Equal(before.mtime) {
		t.Errorf("victim %s modification time changed: %v, was %v", path, after.mtime, before.mtime)
	}
}

func faultFileType(t *testing.T, path string) fs.FileMode {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatalf("lstat: %v", err)
	}
	return fi.Mode().Type()
}

func faultAssertRegular(t *testing.T, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if typ := faultFileType(t, p); typ != 0 {
			t.Errorf("%s is %v, want a regular file written by New", p, typ)
		}
	}
}

func faultAssertAbsent(t *testing.T, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s: got %v, want it absent", p, err)
		}
	}
}

// faultAssertHeldByMe checks, through Status, that this process holds the
// lock with a verified .info file.
func faultAssertHeldByMe(t *testing.T, opts ...singleinstance.Option) {
	t.Helper()
	st, err := singleinstance.Status(faultName, opts...)
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	if !st.Running || !st.Verified || st.Holder == nil || st.Holder.PID != os.Getpid() {
		t.Fatalf("Status = %+v (holder %+v); want running, verified, held by pid %d", st, st.Holder, os.Getpid())
	}
}
