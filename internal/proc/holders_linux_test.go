package proc_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/singleinstance/singleinstance/internal/filelock"
	"github.com/singleinstance/singleinstance/internal/proc"
	"golang.org/x/sys/unix"
)

func inodeOf(t *testing.T, f *os.File) (dev, ino uint64) {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	return uint64(st.Dev), st.Ino
}

// startSleeper starts "sleep" with extra inherited files and returns it;
// the test kills it at the end.
func startSleeper(t *testing.T, files ...*os.File) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sleep", "300")
	cmd.ExtraFiles = files
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

func TestHoldersSeeInheritedTokens(t *testing.T) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	sock := os.NewFile(uintptr(fd), "sock")
	defer sock.Close()
	_, sockIno := inodeOf(t, sock)

	path := filepath.Join(t.TempDir(), "x.lock")
	locked, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer locked.Close()
	if err := filelock.TryLock(locked); err != nil {
		t.Fatal(err)
	}
	dev, ino := inodeOf(t, locked)
	plain, err := os.Open(path) // same file, a description without a lock
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()

	// An earlier lock file of the name, deleted while still locked.
	earlierPath := filepath.Join(t.TempDir(), "x.lock")
	earlier, err := os.OpenFile(earlierPath, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer earlier.Close()
	if err := filelock.TryLock(earlier); err != nil {
		t.Fatal(err)
	}
	os.Remove(earlierPath)

	withSock := startSleeper(t, sock)          // the token alone: holds nothing
	withLock := startSleeper(t, locked)        // the current lock file
	withPlain := startSleeper(t, plain)        // the file, without a lock
	withEarlier := startSleeper(t, earlier)    // an earlier lock file alone
	withBoth := startSleeper(t, sock, earlier) // the token and an earlier lock file

	pids, err := proc.Holders(proc.NameLock{Base: "x.lock", Sock: sockIno, Dev: dev, Ino: ino})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []int{os.Getpid(), withLock.Process.Pid, withBoth.Process.Pid} {
		if !slices.Contains(pids, want) {
			t.Errorf("Holders = %v, missing %d", pids, want)
		}
	}
	for _, not := range []*exec.Cmd{withPlain, withSock, withEarlier} {
		if slices.Contains(pids, not.Process.Pid) {
			t.Errorf("Holders = %v counts %v (pid %d), which holds no lock of the name", pids, not.ExtraFiles, not.Process.Pid)
		}
	}
	if ok, err := proc.Holds(withPlain.Process.Pid, proc.NameLock{Base: "x.lock", Sock: sockIno, Dev: dev, Ino: ino}); err != nil || ok {
		t.Errorf("HoldsToken(plain) = %v, %v; want false", ok, err)
	}

	if err := proc.SignalHolder(withPlain.Process.Pid, syscall.SIGKILL, proc.NameLock{Base: "x.lock", Sock: sockIno, Dev: dev, Ino: ino}); !errors.Is(err, proc.ErrNotSameProcess) {
		t.Errorf("SignalHolder(not a holder) = %v, want ErrNotSameProcess", err)
	}
	if err := proc.SignalHolder(withBoth.Process.Pid, syscall.SIGKILL, proc.NameLock{Base: "x.lock", Sock: sockIno, Dev: dev, Ino: ino}); err != nil {
		t.Fatalf("SignalHolder(holder) = %v", err)
	}
	if err := withBoth.Wait(); err == nil {
		t.Fatal("the signalled holder exited normally")
	}
	if err := proc.SignalHolder(withBoth.Process.Pid, syscall.SIGKILL, proc.NameLock{Base: "x.lock", Sock: sockIno, Dev: dev, Ino: ino}); !errors.Is(err, proc.ErrNotFound) {
		t.Errorf("SignalHolder(gone) = %v, want ErrNotFound", err)
	}
}

func TestDescendantsAndCmdline(t *testing.T) {
	cmd := exec.Command("sh", "-c", "sleep 300 & echo $!; wait")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	var grandchild int
	buf := make([]byte, 32)
	n, err := out.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fmt.Sscan(string(buf[:n]), &grandchild); err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(grandchild, syscall.SIGKILL)
	d, err := proc.Descendants(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(d, cmd.Process.Pid) || !slices.Contains(d, grandchild) {
		t.Fatalf("Descendants = %v, want %d and %d", d, cmd.Process.Pid, grandchild)
	}
	// The forked shell becomes sleep at its exec, a moment later.
	deadline := time.Now().Add(30 * time.Second)
	for {
		argv, err := proc.Cmdline(grandchild)
		if err == nil && slices.Equal(argv, []string{"sleep", "300"}) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Cmdline = %q, %v; want sleep 300", argv, err)
		}
		time.Sleep(time.Millisecond) // no event announces an exec
	}
	if _, err := proc.Cmdline(1 << 30); !errors.Is(err, proc.ErrNotFound) {
		t.Fatalf("Cmdline(no such pid) = %v, want ErrNotFound", err)
	}
}

// TestDescendantsOfSelfKeepExitedChildren: Descendants of this process
// first asks the kernel whether it has children at all; a child that has
// exited but not been waited for is still one, and must be listed, and
// once it is waited for it must be gone.
func TestDescendantsOfSelfKeepExitedChildren(t *testing.T) {
	cmd := exec.Command("true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	var info unix.Siginfo
	// WNOWAIT: the child has exited and stays a zombie until Wait.
	for {
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if err == nil {
			break
		}
		if err != unix.EINTR {
			cmd.Wait()
			t.Fatalf("waitid: %v", err)
		}
	}
	d, err := proc.Descendants(os.Getpid())
	if err != nil || !slices.Contains(d, pid) {
		cmd.Wait()
		t.Fatalf("Descendants with an exited child = %v, %v; want %d listed", d, err, pid)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if d, err := proc.Descendants(os.Getpid()); err != nil || slices.Contains(d, pid) {
		t.Fatalf("Descendants after Wait = %v, %v; want %d gone", d, err, pid)
	}
}

// TestOnlyOurKindOfLockCounts: a flock(2) lock on the lock file, or a
// POSIX record lock, does not conflict with the open file description
// lock that holders take, so it proves nothing: neither HoldsLock nor
// InodeLocked may count it (a process that takes one and is named in a
// forged .info file must never be signalled as the holder).
func TestOnlyOurKindOfLockCounts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	dev, ino := uint64(st.Dev), st.Ino
	self, err := proc.Self()
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, want bool) {
		t.Helper()
		if got, err := proc.HoldsLock(self, dev, ino); err != nil || got != want {
			t.Errorf("%s: HoldsLock = %v, %v; want %v", what, got, err, want)
		}
		if got, err := proc.InodeLocked(dev, ino); err != nil || got != want {
			t.Errorf("%s: InodeLocked = %v, %v; want %v", what, got, err, want)
		}
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	check("flock(2) write lock", false)
	syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	posix := syscall.Flock_t{Type: syscall.F_WRLCK}
	if err := syscall.FcntlFlock(f.Fd(), syscall.F_SETLK, &posix); err != nil {
		t.Fatal(err)
	}
	check("POSIX record write lock", false)
	posix.Type = syscall.F_UNLCK
	syscall.FcntlFlock(f.Fd(), syscall.F_SETLK, &posix)
	if err := filelock.TryLock(f); err != nil {
		t.Fatal(err)
	}
	check("open file description write lock", true)
}

// lockedSleeper creates path, takes a write lock on it, starts a sleeper
// that inherits the locked descriptor, and closes this process's copy: the
// sleeper alone holds the lock.
func lockedSleeper(t *testing.T, path string) *exec.Cmd {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := filelock.TryLock(f); err != nil {
		t.Fatal(err)
	}
	return startSleeper(t, f)
}

// TestDeletedLockFileMustBeDeleted: a process holding a write lock on a
// live file literally named "app.lock (deleted)" in the lock directory
// reads, in /proc, like one holding a deleted lock file of the name. It
// holds nothing of the name; a process holding the real deleted file
// does.
func TestDeletedLockFileMustBeDeleted(t *testing.T) {
	dir := t.TempDir()
	lookalike := lockedSleeper(t, filepath.Join(dir, "app.lock (deleted)"))
	path := filepath.Join(dir, "app.lock")
	deleted := lockedSleeper(t, path)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	l := proc.NameLock{Base: "app.lock", Deleted: path}
	for _, holders := range []func(proc.NameLock) ([]int, error){proc.Holders, proc.HoldersThorough} {
		pids, err := holders(l)
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(pids, lookalike.Process.Pid) {
			t.Errorf("Holders = %v counts pid %d, which locks a live file named %q", pids, lookalike.Process.Pid, "app.lock (deleted)")
		}
		if !slices.Contains(pids, deleted.Process.Pid) {
			t.Errorf("Holders = %v misses pid %d, which holds the deleted lock file", pids, deleted.Process.Pid)
		}
	}
	if ok, err := proc.Holds(lookalike.Process.Pid, l); err != nil || ok {
		t.Errorf("Holds(look-alike) = %v, %v; want false", ok, err)
	}
}

// TestDeletedLockFileElsewhere: a deleted file of the name counts only if
// it was in the lock directory. One deleted from another directory does
// not, even once that directory's path names the lock directory (a
// symbolic link put in its place), which any user can arrange for a
// directory of theirs.
func TestDeletedLockFileElsewhere(t *testing.T) {
	lockDir, tmp := t.TempDir(), t.TempDir()
	other := filepath.Join(tmp, "other")
	if err := os.Mkdir(other, 0o700); err != nil {
		t.Fatal(err)
	}
	elsewhere := lockedSleeper(t, filepath.Join(other, "app.lock"))
	if err := os.Remove(filepath.Join(other, "app.lock")); err != nil {
		t.Fatal(err)
	}
	l := proc.NameLock{Base: "app.lock", Deleted: filepath.Join(lockDir, "app.lock")}
	for _, step := range []func() error{
		func() error { return nil },
		func() error { return os.Remove(other) },
		func() error { return os.Symlink(lockDir, other) },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
		pids, err := proc.HoldersThorough(l)
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(pids, elsewhere.Process.Pid) {
			t.Fatalf("Holders = %v counts pid %d, whose deleted file was in %s, not in the lock directory", pids, elsewhere.Process.Pid, other)
		}
	}
}
