package singleinstance_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/singleinstance/singleinstance"
)

const testName = "trading_bot"

// lockDir returns a fresh lock directory option.
func lockDir(t *testing.T) (string, singleinstance.Option) {
	t.Helper()
	dir := t.TempDir()
	return dir, singleinstance.WithLockDir(dir)
}

func TestSecondProcessRefused(t *testing.T) {
	t.Parallel()
	dir, opt := lockDir(t)
	holder := startChild(t, roleHold, dir, testName)
	holder.Expect("ready")

	second := startChild(t, roleHold, dir, testName)
	second.Expect("error")
	if code := second.ExitCode(); code != 1 {
		t.Fatalf("second instance exit code = %d, want 1 (already running)", code)
	}

	_, err := singleinstance.New(testName, opt)
	var conflict *singleinstance.AlreadyRunningError
	if !errors.As(err, &conflict) || !errors.Is(err, singleinstance.ErrAlreadyRunning) {
		t.Fatalf("New while held: %v, want *AlreadyRunningError", err)
	}
	if conflict.Holder == nil || conflict.Holder.PID != holder.Pid {
		t.Fatalf("conflict holder = %+v, want pid %d", conflict.Holder, holder.Pid)
	}
	if !conflict.Visible || conflict.Process == nil {
		t.Errorf("holder should be visible with live stats: %+v", conflict.Holder)
	}
	running, err := singleinstance.CheckRunning(testName, opt)
	if err != nil || !running {
		t.Fatalf("CheckRunning = %v, %v; want true", running, err)
	}

	holder.Stdin.Close()
	holder.Expect("released")
	if code := holder.ExitCode(); code != 0 {
		t.Fatalf("holder exit code = %d", code)
	}
	running, err = singleinstance.CheckRunning(testName, opt)
	if err != nil || running {
		t.Fatalf("CheckRunning after release = %v, %v; want false", running, err)
	}
	for _, f := range []string{testName + ".pid", testName + ".info"} {
		if _, err := os.Lstat(filepath.Join(dir, f)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left after release: %v", f, err)
		}
	}
	if _, err := os.Lstat(filepath.Join(dir, testName+".lock")); err != nil {
		t.Errorf("lock file must never be removed: %v", err)
	}
}

// TestExactlyOneHolder races 16 processes for one name, each taking and
// releasing it many times, half waiting for it and half retrying at once,
// with clean-up on release; the shared journal must show critical sections
// that never overlap and tokens that only grow.
func TestExactlyOneHolder(t *testing.T) {
	t.Parallel()
	const procs, rounds = 16, 25
	dir, _ := lockDir(t)
	journal := filepath.Join(t.TempDir(), "journal")
	if err := os.WriteFile(journal, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	children := make([]*child, procs)
	for i := range children {
		wait := strconv.Itoa(i % 2)
		children[i] = startChild(t, roleJournal, dir, testName,
			"SI_JOURNAL="+journal, "SI_ROUNDS="+strconv.Itoa(rounds), "SI_WAIT="+wait)
	}
	for _, c := range children {
		c.Expect("done")
		if code := c.ExitCode(); code != 0 {
			t.Fatalf("child %d exit code %d", c.Pid, code)
		}
	}
	checkJournal(t, journal, procs*rounds)
}

// checkJournal verifies strict +PID/-PID alternation and growing tokens.
func checkJournal(t *testing.T, path string, want int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	holder := ""
	var lastToken uint64
	entries := 0
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch line[0] {
		case '+':
			if holder != "" {
				t.Fatalf("journal line %d: %q entered while %s held the lock", n, line, holder)
			}
			fields := strings.Fields(line[1:])
			holder = fields[0]
			tok, _ := strconv.ParseUint(fields[1], 10, 64)
			if tok <= lastToken {
				t.Fatalf("journal line %d: token %d not greater than previous %d", n, tok, lastToken)
			}
			lastToken = tok
			entries++
		case '-':
			if holder != line[1:] {
				t.Fatalf("journal line %d: %q left, but holder was %q", n, line, holder)
			}
			holder = ""
		}
	}
	if entries != want {
		t.Fatalf("journal has %d acquisitions, want %d", entries, want)
	}
}

func TestHolderKilledLockFreedAtOnce(t *testing.T) {
	t.Parallel()
	dir, opt := lockDir(t)
	holder := startChild(t, roleHold, dir, testName)
	holder.Expect("ready")
	if err := holder.Cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if code := holder.ExitCode(); code != -1 {
		t.Fatalf("holder exit code %d, want killed", code)
	}
	running, err := singleinstance.CheckRunning(testName, opt)
	if err != nil || running {
		t.Fatalf("CheckRunning after SIGKILL = %v, %v; want false", running, err)
	}
	st, err := singleinstance.Status(testName, opt)
	if err != nil || st.Running || !st.Stale {
		t.Fatalf("Status after SIGKILL = %+v, %v; want not running, stale files", st, err)
	}
	inst, err := singleinstance.New(testName, opt) // no wait, no manual step
	if err != nil {
		t.Fatalf("New after holder SIGKILL: %v", err)
	}
	defer inst.Release()
	if inst.Holder().PID != os.Getpid() {
		t.Fatalf("info not rewritten: %+v", inst.Holder())
	}
}

// TestReusedPIDNotRunning forges the .pid and .info files to name a live,
// unrelated process (with its real start time): nothing must report it as
// running, and KillRunning must leave it alone.
func TestReusedPIDNotRunning(t *testing.T) {
	t.Parallel()
	dir, opt := lockDir(t)
	unrelated := startChild(t, roleIdle, dir, testName)
	unrelated.Expect("ready")

	// A real acquisition by the unrelated process's PID would need its
	// cooperation; instead write files as a previous holder would have, then
	// point them at the unrelated process.
	inst, err := singleinstance.New(testName, opt, singleinstance.WithCleanupOnExit(false))
	if err != nil {
		t.Fatal(err)
	}
	if err := inst.Release(); err != nil {
		t.Fatal(err)
	}
	forgeInfoPID(t, dir, unrelated.Pid)

	running, err := singleinstance.CheckRunning(testName, opt)
	if err != nil || running {
		t.Fatalf("CheckRunning with forged info = %v, %v; want false", running, err)
	}
	killed, err := singleinstance.KillRunning(testName, true, opt)
	if err != nil || killed {
		t.Fatalf("KillRunning with forged info = %v, %v; want false, nil", killed, err)
	}

	// Now hold the lock in this process and forge the info again, with the
	// unrelated process's real start time: KillRunning must still refuse.
	inst, err = singleinstance.New(testName, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Release()
	forgeInfoPID(t, dir, unrelated.Pid)
	// "Verified" is the proof KillRunning needs, and a conflict names
	// only a proven holder.
	st, err := singleinstance.Status(testName, opt)
	if err != nil || !st.Running || st.Verified {
		t.Fatalf("Status with forged live info = %+v, %v; want running and not verified", st, err)
	}
	_, err = singleinstance.New(testName, opt)
	var conflict *singleinstance.AlreadyRunningError
	if !errors.As(err, &conflict) {
		t.Fatalf("second New = %v, want a conflict", err)
	}
	if conflict.Holder != nil && conflict.Holder.PID == unrelated.Pid ||
		strings.Contains(conflict.Report(), "PID: "+strconv.Itoa(unrelated.Pid)) {
		t.Fatalf("the conflict names the unrelated pid %d:\n%s", unrelated.Pid, conflict.Report())
	}
	killed, err = singleinstance.KillRunning(testName, true, opt)
	if !errors.Is(err, singleinstance.ErrHolderUnproven) || killed {
		t.Fatalf("KillRunning with forged live info = %v, %v; want ErrHolderUnproven", killed, err)
	}
	unrelated.Stdin.Close()
	if code := unrelated.ExitCode(); code != 0 {
		t.Fatalf("unrelated process exit code %d: it was signalled", code)
	}
}

// forgeInfoPID rewrites the .info and .pid files to name pid, with that
// process's true start identity.
func forgeInfoPID(t *testing.T, dir string, pid int) {
	t.Helper()
	statB, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Skipf("needs /proc: %v", err)
	}
	fields := strings.Fields(string(statB[strings.LastIndexByte(string(statB), ')')+1:]))
	start := fields[22-3]
	infoPath := filepath.Join(dir, testName+".info")
	b, err := os.ReadFile(infoPath)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		switch {
		case strings.HasPrefix(line, "pid="):
			line = "pid=" + strconv.Itoa(pid)
		case strings.HasPrefix(line, "start_id="):
			line = "start_id=" + start
		}
		out = append(out, line)
	}
	if err := os.WriteFile(infoPath, []byte(strings.Join(out, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, testName+".pid"), []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestLockFileDeletedWhileHeld deletes, then replaces, the lock file of a
// holder in another process; a new instance must refuse every time.
func TestLockFileDeletedWhileHeld(t *testing.T) {
	t.Parallel()
	dir, opt := lockDir(t)
	holder := startChild(t, roleHold, dir, testName)
	holder.Expect("ready")
	lock := filepath.Join(dir, testName+".lock")
	for i := range 40 {
		if i%2 == 0 {
			if err := os.Remove(lock); err != nil && !errors.Is(err, os.ErrNotExist) {
				t.Fatal(err)
			}
		} else {
			tmp := lock + ".new"
			if err := os.WriteFile(tmp, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(tmp, lock); err != nil {
				t.Fatal(err)
			}
		}
		inst, err := singleinstance.New(testName, opt)
		if err == nil {
			inst.Release()
			t.Fatalf("round %d: second instance started while the holder runs", i)
		}
		if !errors.Is(err, singleinstance.ErrAlreadyRunning) {
			t.Fatalf("round %d: %v, want ErrAlreadyRunning", i, err)
		}
		running, err := singleinstance.CheckRunning(testName, opt)
		if err != nil || !running {
			t.Fatalf("round %d: CheckRunning = %v, %v; want true", i, running, err)
		}
	}
	// The holder restores its lock file and can still be stopped.
	killed, err := singleinstance.KillRunning(testName, false, opt)
	if err != nil || !killed {
		t.Fatalf("KillRunning after restores = %v, %v", killed, err)
	}
	holder.Expect("cancelled")
}

func TestTimeoutWhileHeld(t *testing.T) {
	t.Parallel()
	dir, opt := lockDir(t)
	holder := startChild(t, roleHold, dir, testName)
	holder.Expect("ready")
	const wait = 300 * time.Millisecond
	start := time.Now()
	_, err := singleinstance.New(testName, opt, singleinstance.WithTimeout(wait))
	elapsed := time.Since(start)
	if !errors.Is(err, singleinstance.ErrAlreadyRunning) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("New with timeout: %v; want ErrAlreadyRunning and DeadlineExceeded", err)
	}
	if elapsed < wait {
		t.Fatalf("gave up after %v, before the %v timeout", elapsed, wait)
	}
	// Generous slack: this bounds a hang, not the latency (see the benchmarks).
	if elapsed > wait+5*time.Second {
		t.Fatalf("returned after %v, far past the %v timeout", elapsed, wait)
	}
}

func TestWaiterAcquiresWhenHolderLeaves(t *testing.T) {
	t.Parallel()
	dir, opt := lockDir(t)
	holder := startChild(t, roleHold, dir, testName)
	holder.Expect("ready")
	got := make(chan error, 1)
	var inst *singleinstance.Instance
	go func() {
		var err error
		inst, err = singleinstance.New(testName, opt, singleinstance.WithTimeout(-1))
		got <- err
	}()
	mustBlock(t, got)
	holder.Stdin.Close()
	holder.Expect("released")
	if err := <-got; err != nil {
		t.Fatalf("waiter: %v", err)
	}
	defer inst.Release()
	if inst.Holder().PID != os.Getpid() {
		t.Fatal("waiter does not hold")
	}
}

// mustBlock checks that nothing arrives on ch for a short while: the only
// timed window in these tests, proving something did not happen.
func mustBlock(t *testing.T, ch <-chan error) {
	t.Helper()
	const quiescent = 100 * time.Millisecond
	select {
	case err := <-ch:
		t.Fatalf("call returned (%v) while it should block", err)
	case <-time.After(quiescent):
	}
}

func TestNewContextCancelledWhileWaiting(t *testing.T) {
	t.Parallel()
	dir, opt := lockDir(t)
	holder := startChild(t, roleHold, dir, testName)
	holder.Expect("ready")
	ctx, cancel := context.WithCancel(t.Context())
	got := make(chan error, 1)
	go func() {
		_, err := singleinstance.NewContext(ctx, testName, opt, singleinstance.WithTimeout(-1))
		got <- err
	}()
	mustBlock(t, got)
	cancel()
	err := <-got
	if !errors.Is(err, context.Canceled) || !errors.Is(err, singleinstance.ErrAlreadyRunning) {
		t.Fatalf("cancelled wait: %v", err)
	}
}

func TestKillRunningStopsHolder(t *testing.T) {
	t.Parallel()
	for _, force := range []bool{false, true} {
		t.Run(fmt.Sprintf("force=%v", force), func(t *testing.T) {
			t.Parallel()
			dir, opt := lockDir(t)
			holder := startChild(t, roleHold, dir, testName)
			holder.Expect("ready")
			killed, err := singleinstance.KillRunning(testName, force, opt)
			if err != nil || !killed {
				t.Fatalf("KillRunning = %v, %v", killed, err)
			}
			// "Stopped" means the lock is free, at once.
			inst, err := singleinstance.New(testName, opt)
			if err != nil {
				t.Fatalf("New after KillRunning: %v", err)
			}
			inst.Release()
			expectStopped(t, holder, force)
			killed, err = singleinstance.KillRunning(testName, force, opt)
			if err != nil || killed {
				t.Fatalf("KillRunning with nothing running = %v, %v", killed, err)
			}
		})
	}
}

// TestInfoOfAnotherLockNotTrusted: a .info file names its lock file by
// device and inode only. One copied from another name of the lock
// directory, or the whole directory copied (cp -a) while a holder ran,
// names a lock file that is another lock's: the name must not look held,
// KillRunning must signal nobody, and New must take it. The other lock's
// holder runs on untouched.
func TestInfoOfAnotherLockNotTrusted(t *testing.T) {
	t.Parallel()
	dir, _ := lockDir(t)
	other := startChild(t, roleHold, dir, "other")
	other.Expect("ready")
	info, err := os.ReadFile(filepath.Join(dir, "other.info"))
	if err != nil {
		t.Fatal(err)
	}
	copied := t.TempDir() // the directory as cp -a would copy it
	for _, c := range []struct {
		what string
		dir  string
		name string
	}{
		{"another name's .info", dir, testName},
		{"the directory copied", copied, "other"},
	} {
		if err := os.WriteFile(filepath.Join(c.dir, c.name+".info"), info, 0o600); err != nil {
			t.Fatal(err)
		}
		opt := singleinstance.WithLockDir(c.dir)
		if running, err := singleinstance.CheckRunning(c.name, opt); err != nil || running {
			t.Errorf("%s: CheckRunning = %v, %v; want false", c.what, running, err)
		}
		if killed, err := singleinstance.KillRunning(c.name, true, opt); err != nil || killed {
			t.Errorf("%s: KillRunning = %v, %v; want false, nil", c.what, killed, err)
		}
		inst, err := singleinstance.New(c.name, opt)
		if err != nil {
			t.Errorf("%s: New = %v; want the lock", c.what, err)
			continue
		}
		inst.Release()
	}
	select {
	case <-other.Exited():
		t.Fatalf("the other lock's holder exited (code %d): it was signalled", other.ExitCode())
	default:
	}
	if running, err := singleinstance.CheckRunning("other", singleinstance.WithLockDir(dir)); err != nil || !running {
		t.Fatalf("CheckRunning(other) = %v, %v; want its holder still running", running, err)
	}
}
