package proc_test

import (
	"bufio"
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
	"github.com/singleinstance/singleinstance/internal/testchild"
)

// lockDeletedEnv makes the test binary, re-executed, create the file it
// names, lock it, delete it, print "ready" and hold the lock until its
// stdin closes. With lockMountedEnv set too, the file exists already and
// is not deleted (it is a mount point: the test deletes what it shows).
const (
	lockDeletedEnv = "PROC_TEST_LOCK_DELETED"
	lockMountedEnv = "PROC_TEST_LOCK_MOUNTED"
)

func TestMain(m *testing.M) {
	if path := os.Getenv(lockDeletedEnv); path != "" {
		os.Exit(lockDeleted(path))
	}
	os.Exit(m.Run())
}

func lockDeleted(path string) int {
	mounted := os.Getenv(lockMountedEnv) != ""
	flags := os.O_RDWR | os.O_CREATE | os.O_EXCL
	if mounted {
		flags = os.O_RDWR
	}
	f, err := os.OpenFile(path, flags, 0o600)
	if err == nil {
		err = filelock.TryLock(f)
	}
	if err == nil && !mounted {
		err = os.Remove(path)
	}
	if err != nil {
		os.Stdout.WriteString("error " + err.Error() + "\n")
		return 1
	}
	os.Stdout.WriteString("ready\n")
	bufio.NewReader(os.Stdin).ReadString('\n')
	return 0
}

// startLockDeleted starts cmd, which runs the test binary, as a holder of
// the deleted file at path (see lockDeleted), and returns its PID once it
// holds it; the holder lets go when the test ends.
func startLockDeleted(t *testing.T, cmd *exec.Cmd, path string) int {
	t.Helper()
	// Under the race detector a child lingers a second at exit otherwise.
	cmd.Env = append(cmd.Environ(), lockDeletedEnv+"="+path, "GORACE=atexit_sleep_ms=0")
	c := testchild.Start(t, cmd)
	if line := c.Next(); line != "ready" {
		t.Fatalf("holder: %q", line)
	}
	return c.Pid
}

// TestDeletedLockFileInOtherMountNamespace: a process in another mount
// namespace that holds a deleted lock file holds the name if the file was
// in the lock directory itself, whatever path the namespace gives that
// directory; and not if the namespace gives the lock directory's path to
// another directory (as a private /tmp does).
func TestDeletedLockFileInOtherMountNamespace(t *testing.T) {
	unshare, exe := needNamespaces(t)
	root := t.TempDir()
	lockDir := filepath.Join(root, "locks")
	other := filepath.Join(root, "other")
	elsewhere := filepath.Join(root, "elsewhere")
	for _, d := range []string{lockDir, other, elsewhere} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	l := proc.NameLock{Base: "app.lock", Deleted: filepath.Join(lockDir, "app.lock")}
	for _, tc := range []struct {
		name     string
		mount    [2]string // bind mount source and target in the namespace, if any
		path     string    // the file the holder locks and deletes, by its path there
		recreate bool      // the lock directory is then deleted and made again
		holds    bool
	}{
		{"a copy of this namespace", [2]string{}, filepath.Join(lockDir, "app.lock"), false, true},
		{"the lock directory under another path", [2]string{lockDir, elsewhere}, filepath.Join(elsewhere, "app.lock"), false, true},
		{"another directory under the lock directory's path", [2]string{other, lockDir}, filepath.Join(lockDir, "app.lock"), false, false},
		{"the lock directory under another path, made again", [2]string{lockDir, elsewhere}, filepath.Join(elsewhere, "app.lock"), true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			script := `exec "$0"`
			if tc.mount[0] != "" {
				script = `mount --bind "$1" "$2" && exec "$0"`
			}
			cmd := exec.Command(unshare, "--mount", "--propagation", "private", "sh", "-c", script, exe, tc.mount[0], tc.mount[1])
			pid := startLockDeleted(t, cmd, tc.path)
			if tc.recreate {
				// The namespace's bind mount keeps the deleted directory.
				if err := os.Remove(lockDir); err != nil {
					t.Fatal(err)
				}
				if err := os.Mkdir(lockDir, 0o700); err != nil {
					t.Fatal(err)
				}
			}
			for _, holders := range []func(proc.NameLock) ([]int, error){proc.Holders, proc.HoldersThorough} {
				pids, err := holders(l)
				if err != nil {
					t.Fatal(err)
				}
				if got := slices.Contains(pids, pid); got != tc.holds {
					t.Errorf("Holders = %v; pid %d counted: %v, want %v", pids, pid, got, tc.holds)
				}
			}
			if ok, err := proc.Holds(pid, l); err != nil || ok != tc.holds {
				t.Errorf("Holds = %v, %v; want %v", ok, err, tc.holds)
			}
		})
	}
}

// TestDeletedLockFileOfAnotherUser: in a directory that every user may
// write to, a deleted lock file of the name that another user's process
// holds holds the name, as the live file would; root, who can see that
// process, counts it.
func TestDeletedLockFileOfAnotherUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a process as another user")
	}
	root, bin := sharedRoot(t)
	shared := filepath.Join(root, "shared")
	path := filepath.Join(shared, "app.lock")
	cmd := asNobody(bin)
	pid := startLockDeleted(t, cmd, path)
	pids, err := proc.HoldersThorough(proc.NameLock{Base: "app.lock", Deleted: path})
	if err != nil || !slices.Contains(pids, pid) {
		t.Errorf("HoldersThorough = %v, %v; want it to contain %d, another user's holder", pids, err, pid)
	}
}

// TestDeletedLockFileOpenedInAnotherNamespace: a process of this mount
// namespace that opened the lock file through another namespace's mount
// (through /proc/PID/root, or a descriptor passed from a process there)
// holds the name if that mount places the file in the lock directory.
func TestDeletedLockFileOpenedInAnotherNamespace(t *testing.T) {
	unshare, exe := needNamespaces(t)
	lockDir := filepath.Join(t.TempDir(), "locks")
	if err := os.Mkdir(lockDir, 0o700); err != nil {
		t.Fatal(err)
	}
	keeper := exec.Command(unshare, "--mount", "--propagation", "private", "sleep", "300")
	if err := keeper.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { keeper.Process.Kill(); keeper.Wait() })
	// The keeper runs once its namespace shows a mount table of its own.
	self, _ := os.Readlink("/proc/self/ns/mnt")
	for deadline := time.Now().Add(10 * time.Second); ; {
		if ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", keeper.Process.Pid)); err == nil && ns != self {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the keeper never entered a mount namespace of its own")
		}
		time.Sleep(time.Millisecond) // no event tells when it has
	}
	through := fmt.Sprintf("/proc/%d/root%s", keeper.Process.Pid, filepath.Join(lockDir, "app.lock"))
	pid := startLockDeleted(t, exec.Command(exe), through)
	l := proc.NameLock{Base: "app.lock", Deleted: filepath.Join(lockDir, "app.lock")}
	pids, err := proc.HoldersThorough(l)
	if err != nil || !slices.Contains(pids, pid) {
		t.Errorf("HoldersThorough = %v, %v; want it to contain %d, which opened the file through another namespace", pids, err, pid)
	}
}

// TestDeletedLockFileOfAnEarlierDirectory: a lock file that another user
// made, locked and deleted in a directory of the lock directory's path,
// which they then removed, does not hold the name once this user's lock
// directory is made there; it would, were the directory one that lets
// others write to it.
func TestDeletedLockFileOfAnEarlierDirectory(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a process as another user")
	}
	root, bin := sharedRoot(t)
	lockDir := filepath.Join(root, "shared", "locks")
	if err := os.Mkdir(lockDir, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(lockDir, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	cmd := asNobody(bin)
	pid := startLockDeleted(t, cmd, filepath.Join(lockDir, "app.lock"))
	if err := os.Remove(lockDir); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(lockDir, 0o700); err != nil {
		t.Fatal(err)
	}
	l := proc.NameLock{Base: "app.lock", Deleted: filepath.Join(lockDir, "app.lock")}
	for _, shared := range []bool{false, true} {
		if shared {
			if err := os.Chmod(lockDir, 0o777|os.ModeSticky); err != nil {
				t.Fatal(err)
			}
		}
		pids, err := proc.HoldersThorough(l)
		if err != nil {
			t.Fatal(err)
		}
		if got := slices.Contains(pids, pid); got != shared {
			t.Errorf("lock directory shared %v: HoldersThorough = %v; pid %d counted: %v, want %v", shared, pids, pid, got, shared)
		}
	}
}

// sharedRoot makes a temporary directory with a directory "shared" that
// every user may write to, and a copy of the test binary that every user
// may run; it returns the directory and the binary.
func sharedRoot(t *testing.T) (root, bin string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	root = t.TempDir()
	shared := filepath.Join(root, "shared")
	if err := os.Mkdir(shared, 0o777); err != nil {
		t.Fatal(err)
	}
	for _, d := range []struct {
		path string
		mode os.FileMode
	}{{root, 0o755}, {filepath.Dir(root), 0o755}, {shared, 0o777 | os.ModeSticky}} {
		if err := os.Chmod(d.path, d.mode); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	bin = filepath.Join(root, "holder")
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return root, bin
}

// TestDeletedLockFileInAGroupDirectory: in a lock directory its group may
// write to, a deleted lock file that a process running with that group
// made holds the name, whoever owns it.
func TestDeletedLockFileInAGroupDirectory(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a process as another user")
	}
	root, bin := sharedRoot(t)
	lockDir := filepath.Join(root, "shared", "team")
	if err := os.Mkdir(lockDir, 0o770); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(lockDir, 0, 65534); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(lockDir, 0o770); err != nil {
		t.Fatal(err)
	}
	cmd := asNobody(bin)
	pid := startLockDeleted(t, cmd, filepath.Join(lockDir, "app.lock"))
	pids, err := proc.HoldersThorough(proc.NameLock{Base: "app.lock", Deleted: filepath.Join(lockDir, "app.lock")})
	if err != nil || !slices.Contains(pids, pid) {
		t.Errorf("HoldersThorough = %v, %v; want it to contain %d, which made its file with the directory's group", pids, err, pid)
	}
}

// TestDeletedLockFileMountedAlone: a container that mounted the lock file
// itself (not its directory), under another name, holds the name through
// it once the file is deleted.
func TestDeletedLockFileMountedAlone(t *testing.T) {
	unshare, exe := needNamespaces(t)
	dir := t.TempDir()
	lockDir := filepath.Join(dir, "locks")
	if err := os.Mkdir(lockDir, 0o700); err != nil {
		t.Fatal(err)
	}
	lock := filepath.Join(lockDir, "app.lock")
	if err := os.WriteFile(lock, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	inside := filepath.Join(dir, "x")
	if err := os.WriteFile(inside, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// The holder locks the mounted file, by its name in the namespace;
	// then the file at the lock path is deleted from here.
	cmd := exec.Command(unshare, "--mount", "--propagation", "private", "sh", "-c",
		`mount --bind "$1" "$2" && exec "$0"`, exe, lock, inside)
	cmd.Env = append(os.Environ(), lockMountedEnv+"=1")
	pid := startLockDeleted(t, cmd, inside)
	if err := os.Remove(lock); err != nil {
		t.Fatal(err)
	}
	pids, err := proc.HoldersThorough(proc.NameLock{Base: "app.lock", Deleted: lock})
	if err != nil || !slices.Contains(pids, pid) {
		t.Errorf("HoldersThorough = %v, %v; want it to contain %d, which holds the lock file mounted as %s", pids, err, pid, inside)
	}
}

// needNamespaces skips t unless it runs as root with util-linux unshare,
// and returns unshare's path and the test binary's.
func needNamespaces(t *testing.T) (unshare, exe string) {
	t.Helper()
	unshare, err := exec.LookPath("unshare")
	if err != nil || os.Geteuid() != 0 {
		t.Skip("needs root and util-linux unshare to make mount namespaces")
	}
	if exe, err = os.Executable(); err != nil {
		t.Fatal(err)
	}
	return unshare, exe
}

// asNobody runs bin as the user and group nobody (65534).
func asNobody(bin string) *exec.Cmd {
	cmd := exec.Command(bin)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	return cmd
}
