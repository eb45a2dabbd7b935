package singleinstance_test

import (
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/singleinstance/singleinstance"
	"github.com/singleinstance/singleinstance/internal/nametoken"
	"github.com/singleinstance/singleinstance/internal/testchild"
)

// TestTokenSquattedByAnotherUser: another local user binds name tokens
// first. That must not block the name. With one token squatted, New binds
// the next and keeps its protection; with all of them squatted, New
// succeeds, says why it cannot use a token, and the file lock still
// excludes a second copy.
func TestTokenSquattedByAnotherUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to start a process as another user")
	}
	t.Parallel()
	// The test binary sits in a directory only root can enter; the
	// squatter needs a copy it can execute.
	bin, err := os.MkdirTemp("", "squat")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(bin) })
	exe := faultCopyTestBinary(t, bin)
	if err := os.Chmod(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	squat := func(t *testing.T, keys []string) {
		cmd := exec.CommandContext(t.Context(), exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), childRoleEnv+"="+roleSquat, "SI_KEY="+strings.Join(keys, ","))
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		squatter := testchild.Start(t, cmd)
		squatter.Expect("ready")
	}
	t.Run("one", func(t *testing.T) {
		t.Parallel()
		dir, opt := lockDir(t)
		key := nametoken.Key(os.Geteuid(), dir, testName)
		squat(t, []string{key})
		var logs syncBuffer
		inst, err := singleinstance.New(testName, opt, singleinstance.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
		if err != nil {
			t.Fatalf("New with a squatted token: %v", err)
		}
		defer inst.Release()
		if strings.Contains(logs.String(), "another user holds") {
			t.Fatalf("warned although a token was free; log:\n%s", logs.String())
		}
		if bound, err := nametoken.Bound(nametoken.SlotKey(key, 1)); err != nil || !bound {
			t.Fatalf("the next token is not bound: %v, %v", bound, err)
		}
		// The token keeps the holder in sight without its files.
		for _, f := range []string{".lock", ".pid", ".info"} {
			os.Remove(filepath.Join(dir, testName+f))
		}
		if _, err := singleinstance.New(testName, opt, singleinstance.WithLogger(slog.New(slog.DiscardHandler))); !errors.Is(err, singleinstance.ErrAlreadyRunning) {
			t.Fatalf("New beside a holder whose files were deleted = %v, want ErrAlreadyRunning", err)
		}
	})
	t.Run("all", func(t *testing.T) {
		t.Parallel()
		dir, opt := lockDir(t)
		key := nametoken.Key(os.Geteuid(), dir, testName)
		var keys []string
		for slot := range nametoken.Slots {
			keys = append(keys, nametoken.SlotKey(key, slot))
		}
		squat(t, keys)
		var logs syncBuffer
		inst, err := singleinstance.New(testName, opt, singleinstance.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
		if err != nil {
			t.Fatalf("New with squatted tokens: %v", err)
		}
		defer inst.Release()
		if !strings.Contains(logs.String(), "another user holds this lock's name tokens") || !strings.Contains(logs.String(), "uid=65534") {
			t.Fatalf("no warning naming the squatter; log:\n%s", logs.String())
		}
		if _, err := singleinstance.New(testName, opt); err == nil {
			t.Fatal("a second instance started")
		}
		running, err := singleinstance.CheckRunning(testName, opt)
		if err != nil || !running {
			t.Fatalf("CheckRunning = %v, %v", running, err)
		}
		inst.Release()
		running, err = singleinstance.CheckRunning(testName, opt)
		if err != nil || running {
			t.Fatalf("CheckRunning after Release = %v, %v; the squatter's tokens must not count", running, err)
		}
	})
}

// TestTokenOutlivesDeletedFiles: a holder whose every file was deleted (and
// which has not restored them yet, or cannot) is still seen through its
// name token: check says running and a newcomer is refused.
func TestTokenOutlivesDeletedFiles(t *testing.T) {
	t.Parallel()
	dir, opt := lockDir(t)
	holder := startChild(t, roleHold, dir, testName)
	holder.Expect("ready")
	// A stopped holder cannot restore its files: only its name token and
	// its lock on the deleted file are left.
	if err := holder.Cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer holder.Cmd.Process.Signal(syscall.SIGCONT)
	waitStopped(t, holder.Pid)
	for _, ext := range []string{".lock", ".info", ".pid"} {
		if err := os.Remove(dir + "/" + testName + ext); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := singleinstance.New(testName, opt); !errors.Is(err, singleinstance.ErrAlreadyRunning) {
		t.Fatalf("New with every file deleted = %v, want ErrAlreadyRunning", err)
	}
	running, err := singleinstance.CheckRunning(testName, opt)
	if err != nil || !running {
		t.Fatalf("CheckRunning with every file deleted = %v, %v; want true", running, err)
	}
	st, err := singleinstance.Status(testName, opt)
	if err != nil || !st.Running || !st.Orphaned || len(st.Holding) == 0 || st.Holding[0].PID != holder.Pid {
		t.Fatalf("Status = %+v, %v; want running, orphaned, holding pid %d", st, err, holder.Pid)
	}
}

// waitStopped waits until the process pid is stopped by a signal (state T
// in /proc/PID/stat): SIGSTOP takes effect asynchronously.
func waitStopped(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			t.Fatal(err)
		}
		if i := strings.LastIndexByte(string(stat), ')'); i > 0 && i+2 < len(stat) && stat[i+2] == 'T' {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d did not stop within 30s", pid)
		}
		time.Sleep(time.Millisecond) // no event announces a stop
	}
}

// TestTokenLockDirLinkRepointed: the lock directory is reached through a
// symbolic link (a deploy's "current"), which is re-pointed to another
// directory while the holder runs. A newcomer given the same lock
// directory finds a free lock file of its own there, but the name token,
// keyed on the directory as given, shows the holder: the newcomer is
// refused and CheckRunning says running. The holder's checks are an hour
// apart, so that it does not move its lock over first.
func TestTokenLockDirLinkRepointed(t *testing.T) {
	t.Parallel()
	_, current, repoint := linkedLockDir(t)
	opt := singleinstance.WithLockDir(current)
	holder, err := singleinstance.New(testName, opt, singleinstance.WithCheckInterval(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Release()
	repoint("rel2")
	inst, err := singleinstance.New(testName, opt)
	if err == nil {
		inst.Release()
		t.Fatal("a newcomer took the name through the re-pointed lock directory while the holder runs")
	}
	if !errors.Is(err, singleinstance.ErrAlreadyRunning) {
		t.Errorf("New through the re-pointed lock directory = %v; want ErrAlreadyRunning", err)
	}
	if running, err := singleinstance.CheckRunning(testName, opt); !running || err != nil {
		t.Errorf("CheckRunning through the re-pointed lock directory = %v, %v; want true, nil", running, err)
	}
}

// linkedLockDir makes two release directories, base/rel1 and base/rel2,
// and a symbolic link base/current to rel1, as a deploy does. repoint
// makes current point to rel instead, replacing the link in one step.
func linkedLockDir(t *testing.T) (base, current string, repoint func(rel string)) {
	t.Helper()
	base = t.TempDir()
	current = filepath.Join(base, "current")
	for _, release := range []string{"rel1", "rel2"} {
		if err := os.Mkdir(filepath.Join(base, release), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("rel1", current); err != nil {
		t.Fatal(err)
	}
	repoint = func(rel string) {
		t.Helper()
		next := current + ".next"
		if err := os.Symlink(rel, next); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(next, current); err != nil {
			t.Fatal(err)
		}
	}
	return base, current, repoint
}
