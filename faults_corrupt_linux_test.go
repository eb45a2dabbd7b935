//go:build linux

package singleinstance_test

// Fault tests: damaged .pid and .info files.
// The shared helpers and the overview are in faults_helpers_linux_test.go.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"github.com/singleinstance/singleinstance/internal/local"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/singleinstance/singleinstance"
)

// Damaged .pid and .info files.

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
	{name: "directory", want: local.ErrNotRegularFile, newFails: local.ErrNotRegularFile,
		apply: func(t *testing.T, path, _ string) {
			faultReplace(t, path)
			if err := os.Mkdir(path, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(path, "keep"), []byte("keep"), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
	{name: "fifo", want: local.ErrNotRegularFile,
		apply: func(t *testing.T, path, _ string) {
			faultReplace(t, path)
			if err := unix.Mkfifo(path, 0o600); err != nil {
				t.Fatal(err)
			}
		}},
	{name: "symlink", want: local.ErrNotRegularFile,
		apply: func(t *testing.T, path, target string) {
			faultReplace(t, path)
			if err := os.Symlink(target, path); err != nil {
				t.Fatal(err)
			}
		}},
	{name: "100 MB sparse", want: local.ErrInfoTooLarge, inPlace: true,
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
		faultHolderErrorMentions(t, st, local.ErrInfoTooLarge)
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
		faultHolderErrorMentions(t, st, local.ErrInfoTooLarge)
		faultBoundedAllocs(t, "KillRunning", func() { _, err = singleinstance.KillRunning(faultName, false, opt) })
		faultAssertErr(t, "KillRunning", err, singleinstance.ErrHolderUnproven)
		faultMustRelease(t, inst)
	})
}
