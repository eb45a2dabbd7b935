//go:build linux

package singleinstance_test

// Fault-injection and hostile-filesystem tests: read-only and full file
// systems, directories and files owned by other users, damaged or planted
// .pid/.info files, special files at the lock path, symbolic and hard links
// aimed at victim files, bad lock directories, and the network file system
// warning. The machine and CI run as root, so the tests mount real tmpfs,
// bind and FUSE file systems on t.TempDir() mount points; they skip, with
// the reason logged, only when not root or when mounting is not permitted.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

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
	{"ErrInvalidLockDir", singleinstance.ErrInvalidLockDir},
	{"ErrLockDirUnusable", singleinstance.ErrLockDirUnusable},
	{"ErrInsecureLockDir", singleinstance.ErrInsecureLockDir},
	{"ErrPermission", singleinstance.ErrPermission},
	{"ErrReadOnly", singleinstance.ErrReadOnly},
	{"ErrDiskFull", singleinstance.ErrDiskFull},
	{"ErrForeignLockFile", singleinstance.ErrForeignLockFile},
	{"ErrNotRegularFile", singleinstance.ErrNotRegularFile},
	{"ErrCorruptInfo", singleinstance.ErrCorruptInfo},
	{"ErrInfoTooLarge", singleinstance.ErrInfoTooLarge},
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

// 1. Read-only lock directory.

func TestFaultReadOnlyLockDir(t *testing.T) {
	t.Parallel()

	t.Run("empty read-only tmpfs", func(t *testing.T) {
		t.Parallel()
		dir := faultTmpfs(t, syscall.MS_RDONLY, "size=64k,mode=0755")
		opt := singleinstance.WithLockDir(dir)
		err := faultExpectNewFails(t, singleinstance.ErrReadOnly, opt)
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
		faultExpectNewFails(t, singleinstance.ErrReadOnly, opt)
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
		faultExpectNewFails(t, singleinstance.ErrReadOnly, opt)
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
		faultExpectNewFails(t, singleinstance.ErrReadOnly, opt)
		faultMustRelease(t, inst)
	})
}

// 2. Full file system.

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
		err := faultExpectNewFails(t, singleinstance.ErrDiskFull, opt)
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
		err := faultExpectNewFails(t, singleinstance.ErrDiskFull, opt)
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
		err := faultExpectNewFails(t, singleinstance.ErrDiskFull, opt)
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
		faultExpectNewFails(t, singleinstance.ErrDiskFull, opt)
		faultAssertAbsent(t, faultPath(dir, ".lock"))
		faultAssertLockFreeAfter(t, func() {
			for _, p := range fillers {
				os.Remove(p)
			}
		}, opt)
	})
}

// 3. Lock directory owned by another user.

// faultForeignChildEnv selects, in a re-executed test binary running as an
// unprivileged user, the scenario of TestFaultForeignOwnedLockDir.
const faultForeignChildEnv = "SINGLEINSTANCE_TEST_FAULT_FOREIGN_OWNED_LOCK_DIR"

const faultResultPrefix = "fault-result "

// faultOp is what a child saw of one call.
type faultOp struct {
	Err     string   `json:"err,omitempty"`
	Matches []string `json:"matches,omitempty"`
	Running bool     `json:"running,omitempty"`
}

type faultChildResult struct {
	Euid       int                `json:"euid"`
	DefaultDir string             `json:"default_dir"`
	Ops        map[string]faultOp `json:"ops"`
}

func faultOpOf(err error) faultOp {
	var op faultOp
	if err != nil {
		op.Err = err.Error()
		for _, s := range faultSentinels {
			if errors.Is(err, s.err) {
				op.Matches = append(op.Matches, s.name)
			}
		}
	}
	return op
}

// faultForeignChild runs in the child, as the unprivileged user: it probes
// the lock (the lock directory comes from SINGLEINSTANCE_LOCK_DIR, or is
// the default), takes it, probes again, and prints what it saw.
func faultForeignChild(t *testing.T) {
	res := faultChildResult{Euid: os.Geteuid(), Ops: map[string]faultOp{}}
	res.DefaultDir, _ = singleinstance.DefaultLockDir()
	running, err := singleinstance.CheckRunning(faultName)
	op := faultOpOf(err)
	op.Running = running
	res.Ops["CheckRunning"] = op
	st, err := singleinstance.Status(faultName)
	op = faultOpOf(err)
	op.Running = st != nil && st.Running
	res.Ops["Status"] = op
	inst, err := singleinstance.New(faultName)
	res.Ops["New"] = faultOpOf(err)
	if err == nil {
		res.Ops["Release"] = faultOpOf(inst.Release())
		running, err := singleinstance.CheckRunning(faultName)
		op := faultOpOf(err)
		op.Running = running
		res.Ops["CheckRunningAfter"] = op
	}
	out, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("%s%s\n", faultResultPrefix, out)
}

// faultCopyTestBinary copies the test binary where an unprivileged user can
// run it: go test builds it in a directory only root can enter.
func faultCopyTestBinary(t *testing.T, dir string) string {
	t.Helper()
	src, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, "faults.test")
	if err := os.WriteFile(dst, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return dst
}

// faultOpenTempDir makes a t.TempDir() enterable by other users (its
// parent, created by the testing package, is mode 0700).
func faultOpenTempDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func faultChown(t *testing.T, path string, uid int) {
	t.Helper()
	if err := os.Lchown(path, uid, uid); err != nil {
		t.Fatal(err)
	}
}

func TestFaultForeignOwnedLockDir(t *testing.T) {
	if os.Getenv(faultForeignChildEnv) != "" {
		faultForeignChild(t)
		return
	}
	faultRequireRoot(t)
	t.Parallel()
	base := faultOpenTempDir(t)
	bin := faultCopyTestBinary(t, base)
	// A user of its own, so that its default lock directory,
	// /tmp/singleinstance-UID, is used by nobody else on the machine.
	uid := 3_000_000 + os.Getpid()%1_000_000
	defaultDir := "/tmp/singleinstance-" + strconv.Itoa(uid)
	if _, err := os.Lstat(defaultDir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("%s already exists (%v); cannot plant it", defaultDir, err)
	}

	// run runs the child as uid. lockDir "" means the default directory.
	run := func(t *testing.T, scenario, lockDir string) faultChildResult {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), bin, "-test.run=^TestFaultForeignOwnedLockDir$", "-test.count=1")
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, singleinstance.LockDirEnv+"=") && !strings.HasPrefix(kv, "GOCOVERDIR=") {
				cmd.Env = append(cmd.Env, kv)
			}
		}
		cmd.Env = append(cmd.Env, faultForeignChildEnv+"="+scenario)
		if lockDir != "" {
			cmd.Env = append(cmd.Env, singleinstance.LockDirEnv+"="+lockDir)
		}
		cmd.Dir = base
		cmd.SysProcAttr = &syscall.SysProcAttr{
			Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid), Groups: []uint32{}},
			Pdeathsig:  syscall.SIGKILL,
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		t.Logf("child as uid %d (%s): err %v\nstdout:\n%s\nstderr:\n%s", uid, scenario, err, out, stderr.Bytes())
		if err != nil {
			t.Fatalf("child failed: %v", err)
		}
		for line := range strings.Lines(string(out)) {
			if rest, ok := strings.CutPrefix(line, faultResultPrefix); ok {
				var res faultChildResult
				if err := json.Unmarshal([]byte(rest), &res); err != nil {
					t.Fatalf("child result %q: %v", rest, err)
				}
				if res.Euid != uid {
					t.Fatalf("child ran as euid %d, want %d", res.Euid, uid)
				}
				return res
			}
		}
		t.Fatalf("child printed no result")
		return faultChildResult{}
	}
	// expect checks that op failed, matching want and not ErrAlreadyRunning.
	expect := func(t *testing.T, res faultChildResult, op string, want ...string) {
		t.Helper()
		got, ok := res.Ops[op]
		if !ok || got.Err == "" {
			t.Errorf("%s in the child: no error, want %v", op, want)
			return
		}
		for _, w := range want {
			if !slices.Contains(got.Matches, w) {
				t.Errorf("%s in the child: %q matches %v, want %s", op, got.Err, got.Matches, w)
			}
		}
		if slices.Contains(got.Matches, "ErrAlreadyRunning") {
			t.Errorf("%s in the child: fault %q reported as another instance running", op, got.Err)
		}
	}
	// plant creates the default lock directory of the child's user the way
	// create says, and removes it at cleanup.
	plant := func(t *testing.T, create func(path string)) {
		t.Helper()
		t.Cleanup(func() { os.RemoveAll(defaultDir) })
		create(defaultDir)
	}

	t.Run("explicit directory owned by another user", func(t *testing.T) {
		dir := filepath.Join(base, "foreign")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		faultChown(t, dir, faultNobody)
		res := run(t, "explicit", dir)
		for _, op := range []string{"CheckRunning", "Status", "New"} {
			expect(t, res, op, "ErrPermission", "fs.ErrPermission")
		}
		faultAssertDirHolds(t, dir)
	})

	t.Run("explicit directory inside one owned by another user", func(t *testing.T) {
		outer := filepath.Join(base, "foreign-outer")
		if err := os.Mkdir(outer, 0o700); err != nil {
			t.Fatal(err)
		}
		faultChown(t, outer, faultNobody)
		res := run(t, "explicit-inner", filepath.Join(outer, "locks"))
		for _, op := range []string{"CheckRunning", "Status", "New"} {
			expect(t, res, op, "ErrPermission", "fs.ErrPermission")
		}
		faultAssertDirHolds(t, outer)
	})

	t.Run("default directory planted by another user", func(t *testing.T) {
		plant(t, func(p string) {
			if err := os.Mkdir(p, 0o700); err != nil {
				t.Fatal(err)
			}
			faultChown(t, p, faultNobody)
		})
		res := run(t, "default-foreign", "")
		if res.DefaultDir != defaultDir {
			t.Fatalf("child's default lock directory is %q, want %q", res.DefaultDir, defaultDir)
		}
		for _, op := range []string{"CheckRunning", "Status", "New"} {
			expect(t, res, op, "ErrInsecureLockDir")
			// The error names the directory, its owner and the fix.
			for _, want := range []string{"lock directory " + defaultDir + ` belongs to user "nobody" (uid 65534)`,
				"not to you (uid " + strconv.Itoa(uid) + ")", "remove it as root", "set SINGLEINSTANCE_LOCK_DIR to a directory you own"} {
				if !strings.Contains(res.Ops[op].Err, want) {
					t.Errorf("%s in the child: %q does not contain %q", op, res.Ops[op].Err, want)
				}
			}
		}
		faultAssertDirHolds(t, defaultDir)
	})

	t.Run("default directory planted open to all by another user", func(t *testing.T) {
		// The child could write here; it must not trust it.
		plant(t, func(p string) {
			if err := os.Mkdir(p, 0o777); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(p, 0o777); err != nil {
				t.Fatal(err)
			}
			faultChown(t, p, faultNobody)
		})
		res := run(t, "default-foreign-open", "")
		for _, op := range []string{"CheckRunning", "Status", "New"} {
			expect(t, res, op, "ErrInsecureLockDir")
		}
		faultAssertDirHolds(t, defaultDir)
	})

	t.Run("default directory is a symlink", func(t *testing.T) {
		target := filepath.Join(base, "symlink-target")
		if err := os.Mkdir(target, 0o700); err != nil {
			t.Fatal(err)
		}
		faultChown(t, target, uid)
		plant(t, func(p string) {
			if err := os.Symlink(target, p); err != nil {
				t.Fatal(err)
			}
		})
		res := run(t, "default-symlink", "")
		for _, op := range []string{"CheckRunning", "Status", "New"} {
			expect(t, res, op, "ErrInsecureLockDir")
		}
		faultAssertDirHolds(t, target)
	})

	t.Run("default directory is a file of another user", func(t *testing.T) {
		plant(t, func(p string) {
			faultVictim(t, p, "planted\n", 0o644)
			faultChown(t, p, faultNobody)
		})
		res := run(t, "default-foreign-file", "")
		for _, op := range []string{"CheckRunning", "Status", "New"} {
			expect(t, res, op, "ErrInsecureLockDir")
		}
	})

	t.Run("control: own default directory with loose mode is tightened", func(t *testing.T) {
		plant(t, func(p string) {
			if err := os.Mkdir(p, 0o777); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(p, 0o777); err != nil {
				t.Fatal(err)
			}
			faultChown(t, p, uid)
		})
		res := run(t, "default-own-loose", "")
		// Checking changes nothing, so the loose directory is refused...
		expect(t, res, "CheckRunning", "ErrInsecureLockDir")
		// ...and New, which may, makes it private and succeeds.
		for _, op := range []string{"New", "Release", "CheckRunningAfter"} {
			if got, ok := res.Ops[op]; !ok || got.Err != "" || got.Running {
				t.Errorf("%s in the child = %+v (present %v), want success, not running", op, got, ok)
			}
		}
		fi, err := os.Lstat(defaultDir)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o700 {
			t.Errorf("default directory mode %v after New, want 0700", fi.Mode().Perm())
		}
		lfi, err := os.Lstat(filepath.Join(defaultDir, faultName+".lock"))
		if err != nil {
			t.Fatalf("lock file: %v", err)
		}
		if owner := lfi.Sys().(*syscall.Stat_t).Uid; owner != uint32(uid) {
			t.Errorf("lock file owned by uid %d, want %d", owner, uid)
		}
	})
}

// 4. Lock file owned by another user.

func TestFaultForeignLockFile(t *testing.T) {
	faultRequireRoot(t)
	t.Parallel()
	dir := t.TempDir()
	opt := singleinstance.WithLockDir(dir)
	faultMustRelease(t, faultMustNew(t, opt))
	lock := faultPath(dir, ".lock")
	faultChown(t, lock, faultNobody)
	before := faultSnapshot(t, lock)
	faultExpectNewFails(t, singleinstance.ErrForeignLockFile, opt)
	// Looking needs no write access, and nothing holds the lock.
	faultNotRunning(t, opt)
	faultAssertUnchanged(t, lock, before)
	if got := faultSnapshot(t, lock).uid; got != faultNobody {
		t.Errorf("lock file now owned by uid %d", got)
	}
}

// 5. Damaged .pid and .info files.

// faultDamage is one way to damage a .pid or .info file.
type faultDamage struct {
	name string
	// want is what Status.HolderError must report for a damaged .info.
	want error
	// inPlace: the damage rewrites the existing file, keeping its inode.
	inPlace bool
	// newFails, if set, is the error New must fail with rather than
	// replace the damaged files.
	newFails error
	// apply damages path; target is a file of the test's own that a
	// symbolic link may point at.
	apply func(t *testing.T, path, target string)
}

func faultRewrite(t *testing.T, path string, data []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func faultReplace(t *testing.T, path string) {
	t.Helper()
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
}

var faultDamages = []faultDamage{
	{name: "empty", want: singleinstance.ErrCorruptInfo, inPlace: true,
		apply: func(t *testing.T, path, _ string) { faultRewrite(t, path, nil) }},
	{name: "garbage", want: singleinstance.ErrCorruptInfo, inPlace: true,
		apply: func(t *testing.T, path, _ string) {
			faultRewrite(t, path, []byte("\x00\xff\xfegarbage\x7f\r\n==\n\\x\n"))
		}},
	{name: "forged pid 1 without identity", want: singleinstance.ErrCorruptInfo, inPlace: true,
		apply: func(t *testing.T, path, _ string) {
			faultRewrite(t, path, []byte("format=singleinstance/1\nname="+faultName+"\npid=1\n"))
		}},
	{name: "truncated mid-line", want: singleinstance.ErrCorruptInfo, inPlace: true,
		apply: func(t *testing.T, path, _ string) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			cut := len(data) / 2
			for cut > 1 && data[cut-1] == '\n' {
				cut--
			}
			faultRewrite(t, path, data[:cut])
		}},
	{name: "directory", want: singleinstance.ErrNotRegularFile, newFails: singleinstance.ErrNotRegularFile,
		apply: func(t *testing.T, path, _ string) {
			faultReplace(t, path)
			if err := os.Mkdir(path, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(path, "keep"), []byte("keep"), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
	{name: "fifo", want: singleinstance.ErrNotRegularFile,
		apply: func(t *testing.T, path, _ string) {
			faultReplace(t, path)
			if err := unix.Mkfifo(path, 0o600); err != nil {
				t.Fatal(err)
			}
		}},
	{name: "symlink", want: singleinstance.ErrNotRegularFile,
		apply: func(t *testing.T, path, target string) {
			faultReplace(t, path)
			if err := os.Symlink(target, path); err != nil {
				t.Fatal(err)
			}
		}},
	{name: "100 MB sparse", want: singleinstance.ErrInfoTooLarge, inPlace: true,
		apply: func(t *testing.T, path, _ string) {
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o600)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if err := f.Truncate(100 << 20); err != nil {
				t.Fatal(err)
			}
		}},
}

// faultDamageBoth damages the .pid and .info files in dir. Symbolic links
// point at victim files of the test's own, whose snapshots it returns.
func faultDamageBoth(t *testing.T, d faultDamage, dir string) map[string]faultSnap {
	t.Helper()
	victims := map[string]faultSnap{}
	vdir := t.TempDir()
	for _, ext := range []string{".info", ".pid"} {
		victim := faultVictim(t, filepath.Join(vdir, "victim"+ext), "victim of "+ext+"\n", 0o640)
		victims[victim] = faultSnapshot(t, victim)
		d.apply(t, faultPath(dir, ext), victim)
	}
	t.Logf("damaged %s and %s: %s", faultName+".info", faultName+".pid", d.name)
	return victims
}

func faultAssertVictims(t *testing.T, victims map[string]faultSnap) {
	t.Helper()
	for path, snap := range victims {
		faultAssertUnchanged(t, path, snap)
	}
}

// faultHolderChildEnv makes the test binary, re-executed, hold the lock in
// the directory it names, print "ready", and stop itself.
const faultHolderChildEnv = "SINGLEINSTANCE_TEST_FAULT_CORRUPT_INFO_FILES"

func faultHolderChild(t *testing.T, dir string) {
	inst, err := singleinstance.New(faultName, singleinstance.WithLockDir(dir))
	if err != nil {
		t.Fatalf("holder child: %v", err)
	}
	fmt.Println("ready")
	// Stopped, it cannot repair its files: the parent damages them and
	// probes a holder frozen in place.
	if err := syscall.Kill(os.Getpid(), syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, os.Stdin)
	inst.Release()
}

// faultStoppedHolder starts a child that holds the lock in dir and waits
// until it has stopped itself. It is killed at cleanup.
func faultStoppedHolder(t *testing.T, dir string) int {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestFaultCorruptInfoFiles$", "-test.count=1")
	cmd.Env = append(os.Environ(), faultHolderChildEnv+"="+dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	t.Cleanup(func() {
		cmd.Process.Kill()
		stdin.Close()
		cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if strings.TrimSpace(line) != "ready" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("holder child %d printed %q (%v), not ready; stderr:\n%s", pid, line, err, stderr.Bytes())
	}
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WSTOPPED|unix.WEXITED|unix.WNOWAIT, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			t.Fatalf("waitid %d: %v", pid, err)
		}
		break
	}
	const cldStopped = 5 // CLD_STOPPED, <signal.h>
	if info.Code != cldStopped {
		t.Fatalf("holder child %d did not stop: si_code %d", pid, info.Code)
	}
	t.Logf("holder child %d holds the lock, stopped", pid)
	return pid
}

// faultAssertNotSignalled checks that the stopped holder is still there,
// stopped, with no SIGTERM or SIGKILL pending: it was not signalled.
func faultAssertNotSignalled(t *testing.T, pid int) {
	t.Helper()
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatalf("holder %d: %v", pid, err)
	}
	const bad = 1<<(syscall.SIGTERM-1) | 1<<(syscall.SIGKILL-1)
	for line := range strings.Lines(string(data)) {
		key, val, _ := strings.Cut(strings.TrimSpace(line), ":")
		val = strings.TrimSpace(val)
		switch key {
		case "State":
			if !strings.HasPrefix(val, "T") {
				t.Errorf("holder %d is in state %q, want still stopped", pid, val)
			}
		case "SigPnd", "ShdPnd":
			mask, err := strconv.ParseUint(val, 16, 64)
			if err != nil {
				t.Fatalf("holder %d %s %q: %v", pid, key, val, err)
			}
			if mask&bad != 0 {
				t.Errorf("holder %d has SIGTERM or SIGKILL pending (%s %s): it was signalled", pid, key, val)
			}
		}
	}
}

// faultAssertHeldUnproven checks what a damaged .info of a live holder must
// give: running, holder unknown, and KillRunning refusing.
func faultAssertHeldUnproven(t *testing.T, d faultDamage, opt singleinstance.Option) {
	t.Helper()
	var (
		running bool
		st      *singleinstance.State
		errs    [2]error
	)
	faultNoHang(t, "CheckRunning and Status", func() {
		running, errs[0] = singleinstance.CheckRunning(faultName, opt)
		st, errs[1] = singleinstance.Status(faultName, opt)
	})
	if !running || errs[0] != nil {
		t.Errorf("CheckRunning = %v, %v; want true, nil", running, errs[0])
	}
	if errs[1] != nil {
		t.Fatalf("Status: %v", errs[1])
	}
	t.Logf("Status: running %v, holder %+v, verified %v, holder error %q", st.Running, st.Holder, st.Verified, st.HolderError)
	if !st.Running || st.Holder != nil || st.Verified {
		t.Errorf("Status = %+v; want running, no holder, not verified", st)
	}
	faultHolderErrorMentions(t, st, d.want)
	for _, force := range []bool{false, true} {
		var killed bool
		var err error
		faultNoHang(t, "KillRunning", func() { killed, err = singleinstance.KillRunning(faultName, force, opt) })
		if killed {
			t.Errorf("KillRunning(force=%v) reports a kill", force)
		}
		faultAssertErr(t, fmt.Sprintf("KillRunning(force=%v)", force), err, singleinstance.ErrHolderUnproven)
		if errors.Is(err, singleinstance.ErrStopTimeout) {
			t.Errorf("KillRunning(force=%v) signalled and waited: %v", force, err)
		}
	}
	// The lock still keeps a second copy out.
	inst, err := singleinstance.New(faultName, opt)
	if err == nil {
		inst.Release()
		t.Fatalf("New succeeded beside a live holder whose .info is damaged")
	}
	var conflict *singleinstance.AlreadyRunningError
	if !errors.As(err, &conflict) {
		t.Fatalf("New beside a live holder: %v, want *AlreadyRunningError", err)
	}
	if conflict.Holder != nil {
		t.Errorf("conflict names holder %+v from a damaged .info", conflict.Holder)
	}
}

func TestFaultCorruptInfoFiles(t *testing.T) {
	if dir := os.Getenv(faultHolderChildEnv); dir != "" {
		faultHolderChild(t, dir)
		return
	}
	t.Parallel()
	for _, d := range faultDamages {
		t.Run(d.name+"/no holder", func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			opt := singleinstance.WithLockDir(dir)
			// A previous holder kept its files, as after a crash.
			faultMustRelease(t, faultMustNew(t, opt, singleinstance.WithCleanupOnExit(false)))
			victims := faultDamageBoth(t, d, dir)
			st := faultNotRunning(t, opt)
			if !st.Stale {
				t.Errorf("Status = %+v, want the damaged files reported stale", st)
			}
			faultHolderErrorMentions(t, st, d.want)
			if d.newFails != nil {
				faultExpectNewFails(t, d.newFails, opt)
				for _, ext := range []string{".info", ".pid"} {
					if typ := faultFileType(t, faultPath(dir, ext)); typ != fs.ModeDir {
						t.Errorf("%s is now %v; the directory must be left alone", ext, typ)
					}
				}
				faultNotRunning(t, opt)
			} else {
				var inst *singleinstance.Instance
				var err error
				faultNoHang(t, "New", func() { inst, err = singleinstance.New(faultName, opt) })
				if err != nil {
					t.Fatalf("New over damaged files: %v", err)
				}
				defer inst.Release()
				faultAssertRegular(t, faultPath(dir, ".info"), faultPath(dir, ".pid"))
				faultAssertHeldByMe(t, opt)
				faultMustRelease(t, inst)
				faultAssertAbsent(t, faultPath(dir, ".info"), faultPath(dir, ".pid"))
			}
			faultAssertVictims(t, victims)
		})
		t.Run(d.name+"/stopped holder", func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			opt := singleinstance.WithLockDir(dir)
			pid := faultStoppedHolder(t, dir)
			st, err := singleinstance.Status(faultName, opt)
			if err != nil || !st.Running || !st.Verified || st.Holder == nil || st.Holder.PID != pid {
				t.Fatalf("before damage: Status = %+v, %v; want held by %d, verified", st, err, pid)
			}
			victims := faultDamageBoth(t, d, dir)
			faultAssertHeldUnproven(t, d, opt)
			faultAssertNotSignalled(t, pid)
			faultAssertVictims(t, victims)
		})
	}
}

// TestFaultCorruptInfoInProcessHolder damages, in place, the files of a
// holder in this process. In-place damage keeps the files' identity, so the
// holder's watchdog, which rewrites replaced files, leaves it: the probes
// see it deterministically. A SIGTERM that KillRunning must not send would
// land on this process; it is caught so that the failure is reported.
func TestFaultCorruptInfoInProcessHolder(t *testing.T) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM)
	defer signal.Stop(sigs)
	for _, d := range faultDamages {
		if !d.inPlace {
			continue
		}
		t.Run(d.name, func(t *testing.T) {
			dir := t.TempDir()
			opt := singleinstance.WithLockDir(dir)
			inst := faultMustNew(t, opt)
			info := faultPath(dir, ".info")
			before, err := os.Lstat(info)
			if err != nil {
				t.Fatal(err)
			}
			faultDamageBoth(t, d, dir)
			if after, err := os.Lstat(info); err != nil || !os.SameFile(before, after) {
				t.Fatalf("damage %s replaced the .info file (%v)", d.name, err)
			}
			faultAssertHeldUnproven(t, d, opt)
			select {
			case s := <-sigs:
				t.Fatalf("this process, the holder, received %v", s)
			default:
			}
			faultMustRelease(t, inst)
			faultNotRunning(t, opt)
		})
	}
}

// faultBoundedAllocs runs fn and checks that it allocated less than 8 MB.
func faultBoundedAllocs(t *testing.T, what string, fn func()) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	d := after.TotalAlloc - before.TotalAlloc
	t.Logf("%s allocated %d bytes", what, d)
	if d >= 8<<20 {
		t.Errorf("%s allocated %d bytes next to a 100 MB .info file: its read is not bounded", what, d)
	}
}

// TestFaultCorruptInfoHugeSparseBounded checks that a 100 MB .info file is
// refused unread. Not parallel: it measures allocations of the process.
func TestFaultCorruptInfoHugeSparseBounded(t *testing.T) {
	const huge = 100 << 20
	t.Run("no holder", func(t *testing.T) {
		dir := t.TempDir()
		opt := singleinstance.WithLockDir(dir)
		faultMustRelease(t, faultMustNew(t, opt, singleinstance.WithCleanupOnExit(false)))
		for _, ext := range []string{".info", ".pid"} {
			if err := os.Truncate(faultPath(dir, ext), huge); err != nil {
				t.Fatal(err)
			}
		}
		var st *singleinstance.State
		var err error
		faultBoundedAllocs(t, "Status", func() { st, err = singleinstance.Status(faultName, opt) })
		if err != nil || st.Running {
			t.Fatalf("Status = %+v, %v; want not running", st, err)
		}
		faultHolderErrorMentions(t, st, singleinstance.ErrInfoTooLarge)
		faultBoundedAllocs(t, "CheckRunning", func() { _, err = singleinstance.CheckRunning(faultName, opt) })
		if err != nil {
			t.Fatal(err)
		}
		var inst *singleinstance.Instance
		faultBoundedAllocs(t, "New", func() { inst, err = singleinstance.New(faultName, opt) })
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		defer inst.Release()
		for _, ext := range []string{".info", ".pid"} {
			fi, err := os.Lstat(faultPath(dir, ext))
			if err != nil || fi.Size() > singleinstance.MaxInfoSize {
				t.Errorf("%s after New: %v, %v; want it replaced by a small file", ext, fi, err)
			}
		}
		faultMustRelease(t, inst)
	})
	t.Run("in-process holder", func(t *testing.T) {
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, syscall.SIGTERM)
		defer signal.Stop(sigs)
		dir := t.TempDir()
		opt := singleinstance.WithLockDir(dir)
		inst := faultMustNew(t, opt)
		if err := os.Truncate(faultPath(dir, ".info"), huge); err != nil {
			t.Fatal(err)
		}
		var st *singleinstance.State
		var err error
		faultBoundedAllocs(t, "Status", func() { st, err = singleinstance.Status(faultName, opt) })
		if err != nil || !st.Running || st.Holder != nil {
			t.Fatalf("Status = %+v, %v; want running, holder unknown", st, err)
		}
		faultHolderErrorMentions(t, st, singleinstance.ErrInfoTooLarge)
		faultBoundedAllocs(t, "KillRunning", func() { _, err = singleinstance.KillRunning(faultName, false, opt) })
		faultAssertErr(t, "KillRunning", err, singleinstance.ErrHolderUnproven)
		faultMustRelease(t, inst)
	})
}

// 6. The lock path is not a regular file.

func TestFaultLockPathNotRegular(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		plant func(t *testing.T, lock, victim string)
	}{
		{"directory", func(t *testing.T, lock, _ string) {
			if err := os.Mkdir(lock, 0o700); err != nil {
				t.Fatal(err)
			}
		}},
		{"fifo", func(t *testing.T, lock, _ string) {
			if err := unix.Mkfifo(lock, 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"symlink to own file", func(t *testing.T, lock, victim string) {
			if err := os.Symlink(victim, lock); err != nil {
				t.Fatal(err)
			}
		}},
		{"dangling symlink", func(t *testing.T, lock, victim string) {
			if err := os.Symlink(victim+".missing", lock); err != nil {
				t.Fatal(err)
			}
		}},
		{"unix socket", func(t *testing.T, lock, _ string) {
			l, err := net.Listen("unix", lock)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { l.Close() })
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			opt := singleinstance.WithLockDir(dir)
			victim := faultVictim(t, filepath.Join(t.TempDir(), "victim"), "victim\n", 0o640)
			snap := faultSnapshot(t, victim)
			lock := faultPath(dir, ".lock")
			c.plant(t, lock, victim)
			typ := faultFileType(t, lock)
			faultNoHang(t, "New", func() { faultExpectNewFails(t, singleinstance.ErrNotRegularFile, opt) })
			faultProbeFails(t, singleinstance.ErrNotRegularFile, opt)
			if got := faultFileType(t, lock); got != typ {
				t.Errorf("lock path changed from %v to %v", typ, got)
			}
			faultAssertUnchanged(t, victim, snap)
			faultAssertAbsent(t, victim+".missing", faultPath(dir, ".info"), faultPath(dir, ".pid"))
		})
	}
}

// 7. Links planted at the predictable paths.

func TestFaultPlantedSymlinks(t *testing.T) {
	t.Parallel()
	// plantLinks points .info and .pid at victims, with link.
	plantLinks := func(t *testing.T, dir, vdir string, link func(old, new string) error) map[string]faultSnap {
		t.Helper()
		victims := map[string]faultSnap{}
		for _, ext := range []string{".info", ".pid"} {
			victim := faultVictim(t, filepath.Join(vdir, "victim"+ext), "precious "+ext+"\n", 0o640)
			victims[victim] = faultSnapshot(t, victim)
			// Planted atomically over whatever is there.
			tmp := faultPath(dir, ext) + ".planting"
			if err := link(victim, tmp); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(tmp, faultPath(dir, ext)); err != nil {
				t.Fatal(err)
			}
		}
		return victims
	}
	for _, cleanup := range []bool{true, false} {
		t.Run(fmt.Sprintf("symlinks before New, cleanup %v", cleanup), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			opts := []singleinstance.Option{singleinstance.WithLockDir(dir), singleinstance.WithCleanupOnExit(cleanup)}
			victims := plantLinks(t, dir, t.TempDir(), os.Symlink)
			inst := faultMustNew(t, opts...)
			faultAssertRegular(t, faultPath(dir, ".info"), faultPath(dir, ".pid"))
			faultAssertHeldByMe(t, opts...)
			faultMustRelease(t, inst)
			if cleanup {
				faultAssertAbsent(t, faultPath(dir, ".info"), faultPath(dir, ".pid"))
			}
			faultAssertVictims(t, victims)
		})
	}
	t.Run("hard links before New", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		// Hard links need the victims on the same file system.
		vdir := filepath.Join(dir, "victims")
		if err := os.Mkdir(vdir, 0o700); err != nil {
			t.Fatal(err)
		}
		opt := singleinstance.WithLockDir(dir)
		victims := plantLinks(t, dir, vdir, os.Link)
		inst := faultMustNew(t, opt)
		faultAssertHeldByMe(t, opt)
		faultMustRelease(t, inst)
		faultAssertVictims(t, victims)
		for v := range victims {
			if n := faultSnapshot(t, v).nlink; n != 1 {
				t.Errorf("victim %s has %d links after New and Release, want 1", v, n)
			}
		}
	})
	t.Run("symlinks planted while held", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		opt := singleinstance.WithLockDir(dir)
		inst := faultMustNew(t, opt)
		victims := plantLinks(t, dir, t.TempDir(), os.Symlink)
		// The holder may already have put its own files back; either way
		// no probe reads through the links.
		st, err := singleinstance.Status(faultName, opt)
		if err != nil || !st.Running {
			t.Fatalf("Status = %+v, %v; want running", st, err)
		}
		t.Logf("Status while planted: holder %+v, verified %v, holder error %q", st.Holder, st.Verified, st.HolderError)
		switch {
		case st.Holder == nil:
			faultHolderErrorMentions(t, st, singleinstance.ErrNotRegularFile)
		case !st.Verified || st.Holder.PID != os.Getpid():
			t.Errorf("Status holder %+v (verified %v) is not this process's own record", st.Holder, st.Verified)
		}
		faultMustRelease(t, inst)
		faultAssertVictims(t, victims)
	})
}

// 8. Bad lock directories.

func TestFaultInvalidLockDir(t *testing.T) {
	// Not parallel: it sets the environment and the working directory.
	cwd := t.TempDir()
	t.Chdir(cwd)
	for _, rel := range []string{"locks", "./locks", "../locks", ".", "~/locks"} {
		t.Run("option "+rel, func(t *testing.T) {
			t.Setenv(singleinstance.LockDirEnv, t.TempDir())
			opt := singleinstance.WithLockDir(rel)
			faultExpectNewFails(t, singleinstance.ErrInvalidLockDir, opt)
			faultProbeFails(t, singleinstance.ErrInvalidLockDir, opt)
		})
		t.Run("environment "+rel, func(t *testing.T) {
			t.Setenv(singleinstance.LockDirEnv, rel)
			faultExpectNewFails(t, singleinstance.ErrInvalidLockDir)
			faultProbeFails(t, singleinstance.ErrInvalidLockDir)
			// The option takes precedence over the environment.
			faultMustRelease(t, faultMustNew(t, singleinstance.WithLockDir(t.TempDir())))
		})
	}
	faultAssertDirHolds(t, cwd)
	faultAssertAbsent(t, filepath.Join(filepath.Dir(cwd), "locks"))

	file := faultVictim(t, filepath.Join(t.TempDir(), "file"), "not a directory\n", 0o600)
	snap := faultSnapshot(t, file)
	t.Run("regular file", func(t *testing.T) {
		opt := singleinstance.WithLockDir(file)
		faultExpectNewFails(t, singleinstance.ErrLockDirUnusable, opt)
		faultProbeFails(t, singleinstance.ErrLockDirUnusable, opt)
	})
	t.Run("regular file in the environment", func(t *testing.T) {
		t.Setenv(singleinstance.LockDirEnv, file)
		faultExpectNewFails(t, singleinstance.ErrLockDirUnusable)
		faultProbeFails(t, singleinstance.ErrLockDirUnusable)
	})
	t.Run("below a regular file", func(t *testing.T) {
		opt := singleinstance.WithLockDir(filepath.Join(file, "locks"))
		faultExpectNewFails(t, singleinstance.ErrLockDirUnusable, opt)
		faultProbeFails(t, singleinstance.ErrLockDirUnusable, opt)
	})
	faultAssertUnchanged(t, file, snap)
	t.Run("dangling symlink", func(t *testing.T) {
		dir := t.TempDir()
		link := filepath.Join(dir, "locks")
		if err := os.Symlink(filepath.Join(dir, "missing"), link); err != nil {
			t.Fatal(err)
		}
		opt := singleinstance.WithLockDir(link)
		faultExpectNewFails(t, singleinstance.ErrLockDirUnusable, opt)
		// A missing lock directory means not running.
		faultNotRunning(t, opt)
		faultAssertAbsent(t, filepath.Join(dir, "missing"))
	})
}

// 9. Network file system warning.

// faultLogRecord is one logged record.
type faultLogRecord struct {
	level slog.Level
	msg   string
	attrs map[string]string
}

// faultLogs records every log record, at every level.
type faultLogs struct {
	mu      sync.Mutex
	records []faultLogRecord
}

type faultLogHandler struct {
	logs  *faultLogs
	attrs []slog.Attr
}

func (h faultLogHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h faultLogHandler) Handle(_ context.Context, r slog.Record) error {
	rec := faultLogRecord{level: r.Level, msg: r.Message, attrs: map[string]string{}}
	for _, a := range h.attrs {
		rec.attrs[a.Key] = a.Value.String()
	}
	r.Attrs(func(a slog.Attr) bool {
		rec.attrs[a.Key] = a.Value.String()
		return true
	})
	h.logs.mu.Lock()
	defer h.logs.mu.Unlock()
	h.logs.records = append(h.logs.records, rec)
	return nil
}

func (h faultLogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return faultLogHandler{logs: h.logs, attrs: append(slices.Clip(h.attrs), attrs...)}
}

func (h faultLogHandler) WithGroup(string) slog.Handler { return h }

func (l *faultLogs) logger() *slog.Logger { return slog.New(faultLogHandler{logs: l}) }

// networkWarnings returns the warnings about a network file system.
func (l *faultLogs) networkWarnings() []faultLogRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []faultLogRecord
	for _, r := range l.records {
		if r.level >= slog.LevelWarn && (strings.Contains(r.msg, "network") || r.attrs["fs"] != "") {
			out = append(out, r)
		}
	}
	return out
}

func TestFaultNetworkFSWarning(t *testing.T) {
	t.Parallel()
	// noWarning takes and releases the lock in dir and checks that no
	// network file system warning was logged.
	noWarning := func(t *testing.T, dir string) {
		t.Helper()
		var logs faultLogs
		opts := []singleinstance.Option{singleinstance.WithLockDir(dir), singleinstance.WithLogger(logs.logger())}
		faultMustRelease(t, faultMustNew(t, opts...))
		if w := logs.networkWarnings(); len(w) != 0 {
			t.Errorf("network file system warning on a local file system: %+v", w)
		}
	}
	t.Run("tmpfs", func(t *testing.T) {
		t.Parallel()
		noWarning(t, faultTmpfs(t, 0, "size=1m,mode=0700"))
	})
	t.Run("temporary directory", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		var st unix.Statfs_t
		if err := unix.Statfs(dir, &st); err != nil {
			t.Fatal(err)
		}
		switch st.Type {
		case unix.TMPFS_MAGIC, unix.EXT4_SUPER_MAGIC, unix.XFS_SUPER_MAGIC, unix.BTRFS_SUPER_MAGIC, unix.OVERLAYFS_SUPER_MAGIC:
		default:
			t.Skipf("skipping: %s is on file system type %#x, which may not be local", dir, st.Type)
		}
		noWarning(t, dir)
	})
	t.Run("fuse", func(t *testing.T) {
		t.Parallel()
		dir := faultFUSE(t)
		var logs faultLogs
		opts := []singleinstance.Option{singleinstance.WithLockDir(dir), singleinstance.WithLogger(logs.logger())}
		// The file system refuses to create files, so New fails, after
		// the warning.
		faultNoHang(t, "New on FUSE", func() { faultExpectNewFails(t, singleinstance.ErrReadOnly, opts...) })
		w := logs.networkWarnings()
		if len(w) != 1 || w[0].attrs["fs"] != "fuse" || w[0].attrs["dir"] != dir {
			t.Errorf("warnings = %+v; want one warning naming fs=fuse and dir=%s", w, dir)
		}
		faultNotRunning(t, opts...)
	})
}

// A minimal FUSE server, enough to mount an empty, read-only directory:
// the kernel reports such a mount as FUSE_SUPER_MAGIC to statfs(2).

const (
	fuseLookup      = 1
	fuseForget      = 2
	fuseGetattr     = 3
	fuseMknod       = 8
	fuseMkdir       = 9
	fuseStatfs      = 17
	fuseInit        = 26
	fuseCreate      = 35
	fuseBatchForget = 42
	fuseInHeaderLen = 40
)

// faultFUSE mounts the minimal FUSE file system on a new temporary
// directory and serves it until cleanup.
func faultFUSE(t *testing.T) string {
	t.Helper()
	faultRequireRoot(t)
	fd, err := unix.Open("/dev/fuse", unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Skipf("skipping: no FUSE here: open /dev/fuse: %v", err)
	}
	dir := t.TempDir()
	opts := fmt.Sprintf("fd=%d,rootmode=40000,user_id=0,group_id=0", fd)
	t.Logf("mount -t fuse -o %s on %s", opts, dir)
	if err := unix.Mount("singleinstance-faults", dir, "fuse", unix.MS_NOSUID|unix.MS_NODEV, opts); err != nil {
		unix.Close(fd)
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.ENODEV) {
			t.Skipf("skipping: cannot mount FUSE here: %v", err)
		}
		t.Fatalf("mount fuse: %v", err)
	}
	// Only now, with the device connected to the mount, can the runtime's
	// poller register for its wake-ups.
	dev := os.NewFile(uintptr(fd), "/dev/fuse")
	done := make(chan struct{})
	go func() {
		defer close(done)
		faultServeFUSE(dev)
	}()
	t.Cleanup(func() {
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
		dev.Close()
		<-done
	})
	return dir
}

func faultServeFUSE(dev *os.File) {
	ne := binary.NativeEndian
	buf := make([]byte, 1<<20)
	for {
		n, err := dev.Read(buf)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || n < fuseInHeaderLen {
			return // unmounted or closed
		}
		req := buf[:n]
		opcode := ne.Uint32(req[4:])
		unique := ne.Uint64(req[8:])
		nodeid := ne.Uint64(req[16:])
		var out []byte
		errno := unix.ENOSYS
		switch opcode {
		case fuseForget, fuseBatchForget:
			continue // no reply
		case fuseInit:
			// fuse_init_out: major, minor, max_readahead, flags,
			// max_background, congestion_threshold, max_write, time_gran,
			// then fields left zero; 64 bytes.
			out = make([]byte, 64)
			ne.PutUint32(out[0:], 7)
			ne.PutUint32(out[4:], 31)
			ne.PutUint32(out[8:], ne.Uint32(req[fuseInHeaderLen+8:]))
			ne.PutUint32(out[20:], 4096)
			ne.PutUint32(out[24:], 1)
			errno = 0
		case fuseGetattr:
			if nodeid != 1 {
				errno = unix.ENOENT
				break
			}
			// fuse_attr_out: attr_valid, attr_valid_nsec, dummy, then
			// fuse_attr: ino, size, blocks, atime, mtime, ctime (8 bytes
			// each), atimensec, mtimensec, ctimensec, mode, nlink, uid,
			// gid, rdev, blksize, flags (4 bytes each).
			out = make([]byte, 16+88)
			a := out[16:]
			ne.PutUint64(a[0:], 1)
			ne.PutUint32(a[60:], syscall.S_IFDIR|0o755)
			ne.PutUint32(a[64:], 2)
			ne.PutUint32(a[80:], 4096)
			errno = 0
		case fuseStatfs:
			// fuse_kstatfs: blocks, bfree, bavail, files, ffree, then
			// bsize, namelen, frsize, padding, spare[6].
			out = make([]byte, 80)
			ne.PutUint32(out[40:], 4096)
			ne.PutUint32(out[44:], 255)
			ne.PutUint32(out[48:], 4096)
			errno = 0
		case fuseLookup:
			errno = unix.ENOENT
		case fuseCreate, fuseMknod, fuseMkdir:
			errno = unix.EROFS
		}
		reply := make([]byte, 16+len(out))
		ne.PutUint32(reply[0:], uint32(len(reply)))
		ne.PutUint32(reply[4:], uint32(-int32(errno)))
		ne.PutUint64(reply[8:], unique)
		copy(reply[16:], out)
		dev.Write(reply) // a request the kernel gave up on fails; it needs no answer
	}
}
