package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/singleinstance/singleinstance"
)

// The tests in this file attack the promise of run: while any process of a
// guarded command's tree is alive, the name is held; check says RUNNING,
// and no second copy starts. Each starts the CLI (this test binary) as a
// real process, and a second copy's command appends to a journal that
// must stay empty.

// treeDeadline bounds each wait for an event in these tests.
const treeDeadline = 30 * time.Second

// quiet is how long a test watches for something that must not happen.
const quiet = 300 * time.Millisecond

// cliProc is a CLI process started by a test, with its stderr as lines.
type cliProc struct {
	t     *testing.T
	cmd   *exec.Cmd
	lines chan string
	done  chan struct{}
}

// startCLI starts the CLI with args in a test's lock directory.
func startCLI(t *testing.T, lockDir string, args ...string) *cliProc {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), cliEnv+"=1", "GORACE="+goRace(), "SINGLEINSTANCE_LOCK_DIR="+lockDir)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &cliProc{t: t, cmd: cmd, lines: make(chan string, 100), done: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			t.Logf("cli %d: %s", cmd.Process.Pid, sc.Text())
			select {
			case p.lines <- sc.Text():
			default:
			}
		}
		close(p.lines)
		cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.done
	})
	return p
}

// expect waits for a stderr line containing s.
func (p *cliProc) expect(s string) {
	p.t.Helper()
	deadline := time.After(treeDeadline)
	for {
		select {
		case line, ok := <-p.lines:
			if !ok {
				p.t.Fatalf("cli %d exited before printing %q", p.cmd.Process.Pid, s)
			}
			if strings.Contains(line, s) {
				return
			}
		case <-deadline:
			p.t.Fatalf("cli %d did not print %q within %v", p.cmd.Process.Pid, s, treeDeadline)
		}
	}
}

// exitCode waits for the process to exit and returns its exit code, -1 if
// a signal killed it.
func (p *cliProc) exitCode() int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(treeDeadline):
		p.t.Fatalf("cli %d did not exit within %v", p.cmd.Process.Pid, treeDeadline)
	}
	return p.cmd.ProcessState.ExitCode()
}

// running reports whether the process has not exited within quiet.
func (p *cliProc) stillRunning() bool {
	select {
	case <-p.done:
		return false
	case <-time.After(quiet):
		return true
	}
}

// readPID waits for file to hold a PID and returns it.
func readPID(t *testing.T, file string) int {
	t.Helper()
	deadline := time.Now().Add(treeDeadline)
	for {
		data, err := os.ReadFile(file)
		if err == nil && strings.HasSuffix(string(data), "\n") {
			pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
			if err != nil {
				t.Fatal(err)
			}
			return pid
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not written within %v", file, treeDeadline)
		}
		time.Sleep(5 * time.Millisecond) // polling for a file: no event to wait on
	}
}

// alive reports whether pid runs (not a zombie).
func alive(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] != 'Z'
}

// assertHeld checks every clause of the promise while a process of the
// tree runs: check and Status see the holder, and a second run of the
// name neither starts its command nor succeeds.
func assertHeld(t *testing.T, lockDir string, holders ...int) {
	t.Helper()
	opt := singleinstance.WithLockDir(lockDir)
	running, err := singleinstance.CheckRunning("app", opt)
	if err != nil || !running {
		t.Fatalf("CheckRunning = %v, %v; want true while pids %v run", running, err, holders)
	}
	st, err := singleinstance.Status("app", opt)
	if err != nil || !st.Running {
		t.Fatalf("Status = %+v, %v; want running", st, err)
	}
	for _, pid := range holders {
		if !slices.ContainsFunc(st.Holding, func(h singleinstance.HoldingProcess) bool { return h.PID == pid }) {
			t.Fatalf("Status.Holding = %v, want it to contain %d", st.Holding, pid)
		}
	}
	assertRefused(t, lockDir)
}

// assertRefused checks that a second run of the name neither starts its
// command nor succeeds.
func assertRefused(t *testing.T, lockDir string) {
	t.Helper()
	marker := filepath.Join(t.TempDir(), "second-ran")
	second := startCLI(t, lockDir, "run", "app", "--", "sh", "-c", "echo ran > "+marker)
	if code := second.exitCode(); code != exitNo {
		t.Fatalf("second run exited %d, want %d (already running)", code, exitNo)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the second copy's command ran")
	}
}

// assertFree checks that the name is free.
func assertFree(t *testing.T, lockDir string) {
	t.Helper()
	running, err := singleinstance.CheckRunning("app", singleinstance.WithLockDir(lockDir))
	if err != nil || running {
		t.Fatalf("CheckRunning = %v, %v; want false", running, err)
	}
}

func killName(t *testing.T, lockDir string, force bool) {
	t.Helper()
	killed, err := singleinstance.KillRunning("app", force, singleinstance.WithLockDir(lockDir),
		singleinstance.WithStopTimeout(treeDeadline))
	if err != nil || !killed {
		t.Fatalf("KillRunning = %v, %v; want true, nil", killed, err)
	}
}

// stopChild stops the tree's child with kill (--force with force) and
// checks that the name is free once it is gone: its descriptors close a
// moment before its exit completes.
func stopChild(t *testing.T, lockDir string, child int, force bool) {
	t.Helper()
	killName(t, lockDir, force)
	if err := waitGone(child, treeDeadline); err != nil {
		t.Fatalf("child %d after kill: %v", child, err)
	}
	assertFree(t, lockDir)
}

// killLeaving kills run with SIGKILL and checks that child, a process of
// its tree that the test needs, lives on.
func (p *cliProc) killLeaving(child int) {
	p.t.Helper()
	p.cmd.Process.Signal(syscall.SIGKILL)
	if code := p.exitCode(); code != -1 {
		p.t.Fatalf("run exited %d, want killed", code)
	}
	if !alive(child) {
		p.t.Fatalf("child %d died with run; the test needs it alive", child)
	}
}

// TestTreeChildOutlivesCommand: the command starts a background child that
// keeps its descriptors and exits. run waits for the child, the name stays
// held, and kill stops the child and frees the name.
func TestTreeChildOutlivesCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	lockDir, childFile := filepath.Join(dir, "locks"), filepath.Join(dir, "child")
	run := startCLI(t, lockDir, "run", "app", "--", "sh", "-c",
		"sleep 300 </dev/null >/dev/null 2>&1 & echo $! > "+childFile+"; exit 7")
	child := readPID(t, childFile)
	run.expect("still hold 'app'")
	assertHeld(t, lockDir, child)
	if !run.stillRunning() {
		t.Fatal("run exited while a process of its tree holds the lock")
	}
	// The .info file still names the command, which has exited: status
	// says so, not that it cannot be seen.
	st, err := singleinstance.Status("app", singleinstance.WithLockDir(lockDir))
	if err != nil || st.Holder == nil || st.Holder.PID == child || st.Visible || !st.Exited {
		t.Fatalf("Status = %+v, %v; want the exited command described, not visible, Exited", st, err)
	}
	// kill names the process it stopped, the child, not the command.
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	kill := exec.Command(exe, "kill", "app")
	kill.Env = append(os.Environ(), cliEnv+"=1", "GORACE="+goRace(), "SINGLEINSTANCE_LOCK_DIR="+lockDir)
	out, err := kill.Output()
	if want := fmt.Sprintf("Application 'app' terminated (pid %d, SIGTERM)\n", child); err != nil || string(out) != want {
		t.Fatalf("kill: %v, %q; want %q", err, out, want)
	}
	// The name is free once the child's descriptors are closed, a moment
	// before its exit completes.
	if err := waitGone(child, treeDeadline); err != nil {
		t.Fatalf("child %d after kill: %v", child, err)
	}
	if code := run.exitCode(); code != 7 {
		t.Fatalf("run exited %d, want the command's 7", code)
	}
	assertFree(t, lockDir)
}

// TestTreeKillStopsCommandAndChildren: kill while the command runs stops
// it and its children that hold the lock, and succeeds once the name is
// free.
func TestTreeKillStopsCommandAndChildren(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	lockDir, childFile, cmdFile := filepath.Join(dir, "locks"), filepath.Join(dir, "child"), filepath.Join(dir, "cmd")
	run := startCLI(t, lockDir, "run", "app", "--", "sh", "-c",
		"sleep 300 </dev/null >/dev/null 2>&1 & echo $! > "+childFile+"; echo $$ > "+cmdFile+"; exec sleep 300")
	child, command := readPID(t, childFile), readPID(t, cmdFile)
	assertHeld(t, lockDir, child, command)
	killName(t, lockDir, false)
	for _, pid := range []int{child, command} {
		if err := waitGone(pid, treeDeadline); err != nil {
			t.Fatalf("pid %d after kill: %v", pid, err)
		}
	}
	if code := run.exitCode(); code != 128+int(syscall.SIGTERM) {
		t.Fatalf("run exited %d, want %d", code, 128+int(syscall.SIGTERM))
	}
	assertFree(t, lockDir)
}

// TestTreeLockFilesDeletedThenWrapperKilled deletes every file of the name
// while it is held, then kills run with SIGKILL: the command dies with
// run, and its child, which holds only the deleted lock file and the name
// token, keeps the name held until kill stops it.
func TestTreeLockFilesDeletedThenWrapperKilled(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	lockDir, childFile, cmdFile := filepath.Join(dir, "locks"), filepath.Join(dir, "child"), filepath.Join(dir, "cmd")
	run := startCLI(t, lockDir, "run", "app", "--", "sh", "-c",
		"sleep 300 </dev/null >/dev/null 2>&1 & echo $! > "+childFile+"; echo $$ > "+cmdFile+"; wait")
	child, command := readPID(t, childFile), readPID(t, cmdFile)
	removeAll(t, lockDir)
	run.expect("protection restored")
	removeAll(t, lockDir)
	run.killLeaving(child)
	if err := waitGone(command, treeDeadline); err != nil {
		t.Fatalf("the command did not die with run: %v", err)
	}
	assertHeld(t, lockDir, child)
	stopChild(t, lockDir, child, false)
}

// TestTreeWrapperSurvivesClosedStderr runs run with a standard error whose
// reader is gone (as in "run ... 2>&1 | head"): its warnings must not kill
// it with SIGPIPE, which would leave the command unguarded.
func TestTreeWrapperSurvivesClosedStderr(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	lockDir, cmdFile := filepath.Join(dir, "locks"), filepath.Join(dir, "cmd")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	cmd := exec.CommandContext(t.Context(), exe, "-v", "run", "app", "--", "sh", "-c", "echo $$ > "+cmdFile+"; exec sleep 300")
	cmd.Env = append(os.Environ(), cliEnv+"=1", "GORACE="+goRace(), "SINGLEINSTANCE_LOCK_DIR="+lockDir)
	cmd.Stderr, cmd.Stdout = w, w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	command := readPID(t, cmdFile)
	// Each deletion makes run write a warning to its broken stderr.
	for range 3 {
		removeAll(t, lockDir)
		waitExists(t, filepath.Join(lockDir, "app.lock"))
	}
	select {
	case err := <-done:
		t.Fatalf("run exited after writing to a closed stderr: %v", err)
	case <-time.After(quiet):
	}
	assertHeld(t, lockDir, command)
	killName(t, lockDir, false)
	select {
	case err := <-done:
		if code := exitCode(err); code != 128+int(syscall.SIGTERM) {
			t.Fatalf("run exited %d (%v), want %d", code, err, 128+int(syscall.SIGTERM))
		}
	case <-time.After(treeDeadline):
		t.Fatal("run did not exit after kill")
	}
}

func removeAll(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		os.Remove(filepath.Join(dir, e.Name()))
	}
}

func waitExists(t *testing.T, path string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), treeDeadline)
	defer cancel()
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s did not reappear within %v", path, treeDeadline)
		case <-time.After(time.Millisecond): // polling for a file: no event to wait on
		}
	}
}

// journalCommand appends "start PID" to $J, holds until SIGTERM, then
// appends "end PID": the journal shows whether two copies ever overlapped.
// It sets its trap before it journals its start, so that a TERM sent once
// the start is seen always gets its "end".
const journalCommand = `trap 'echo "end $$" >> "$J"; exit 0' TERM; echo "start $$" >> "$J"; sleep 300 </dev/null >/dev/null 2>&1 & wait`

// TestTreeCleanerDeletesEverythingWhileWaitersQueue deletes every file in
// the lock directory (as a temporary-file cleaner does) while waiters are
// queued with run --wait and a fresh run tries too: no waiter may start
// before the holder has exited, round after round.
func TestTreeCleanerDeletesEverythingWhileWaitersQueue(t *testing.T) {
	t.Parallel()
	const waiters = 3
	dir := t.TempDir()
	lockDir, journal := filepath.Join(dir, "locks"), filepath.Join(dir, "journal")
	command := strings.ReplaceAll(journalCommand, "$J", journal)
	procs := []*cliProc{startCLI(t, lockDir, "run", "app", "--", "sh", "-c", command)}
	waitJournal(t, journal, 1)
	for range waiters {
		w := startCLI(t, lockDir, "-v", "run", "--wait", "forever", "app", "--", "sh", "-c", command)
		w.expect("singleinstance: waiting for 'app'")
		procs = append(procs, w)
	}
	for round := 1; round <= waiters; round++ {
		removeAll(t, lockDir)
		if p := startCLI(t, lockDir, "run", "app", "--", "sh", "-c", command); p.exitCode() != exitNo {
			t.Fatalf("round %d: a fresh run after the cleaner did not refuse", round)
		}
		time.Sleep(quiet) // watch for a waiter that wrongly starts
		if n := journalStarts(t, journal); n != round {
			t.Fatalf("round %d: %d commands started, want %d; journal:\n%s", round, n, round, readJournal(t, journal))
		}
		killName(t, lockDir, false)
		waitJournal(t, journal, round+1)
	}
	killName(t, lockDir, false)
	for _, p := range procs {
		p.exitCode()
	}
	assertNoOverlap(t, journal)
}

// journalStarts counts the commands that started.
func journalStarts(t *testing.T, journal string) int {
	t.Helper()
	return strings.Count(readJournal(t, journal), "start ")
}

// waitJournal waits until n commands have started.
func waitJournal(t *testing.T, journal string, n int) {
	t.Helper()
	deadline := time.Now().Add(treeDeadline)
	for journalStarts(t, journal) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d commands did not start within %v; journal:\n%s", n, treeDeadline, readJournal(t, journal))
		}
		time.Sleep(5 * time.Millisecond) // polling a file: no event to wait on
	}
}

// assertNoOverlap checks that every "start" in the journal came after the
// "end" of the one before.
func assertNoOverlap(t *testing.T, journal string) {
	t.Helper()
	running := ""
	for line := range strings.Lines(readJournal(t, journal)) {
		f := strings.Fields(line)
		switch {
		case len(f) != 2:
			t.Fatalf("bad journal line %q", line)
		case f[0] == "start" && running != "":
			t.Fatalf("command %s started while %s ran; journal:\n%s", f[1], running, readJournal(t, journal))
		case f[0] == "start":
			running = f[1]
		case f[0] == "end" && f[1] == running:
			running = ""
		}
	}
}

// startLockOnlyTree runs "run app" with a command that starts child (a
// shell command) in the background with the lock's descriptor (3) but not
// the name token's (4), and exits; it returns once run says it waits for
// the child, with the lock directory, run and the child's PID.
func startLockOnlyTree(t *testing.T, child string) (lockDir string, run *cliProc, pid int) {
	t.Helper()
	dir := t.TempDir()
	lockDir, childFile := filepath.Join(dir, "locks"), filepath.Join(dir, "child")
	run = startCLI(t, lockDir, "run", "app", "--", "sh", "-c",
		"exec 4>&-; "+child+" </dev/null >/dev/null 2>&1 & echo $! > "+childFile+"; exit 0")
	pid = readPID(t, childFile)
	run.expect("still hold 'app'")
	return lockDir, run, pid
}

// TestTreeChildKeepingOnlyTheLockSurvivesDeletion: a child that closed the
// name token's descriptor (4) but kept the lock's (3) outlives the
// command; then the lock file is deleted and run restores it. run must
// still wait for the child, which holds only the deleted file, and kill
// must find and stop it.
func TestTreeChildKeepingOnlyTheLockSurvivesDeletion(t *testing.T) {
	t.Parallel()
	lockDir, run, child := startLockOnlyTree(t, "sleep 300")
	if err := os.Remove(filepath.Join(lockDir, "app.lock")); err != nil {
		t.Fatal(err)
	}
	run.expect("protection restored")
	if !run.stillRunning() {
		t.Fatal("run exited while its child holds the deleted lock file")
	}
	assertHeld(t, lockDir, child)
	killName(t, lockDir, false)
	// The name is free once the child's descriptors are closed, a moment
	// before its exit completes.
	if err := waitGone(child, treeDeadline); err != nil {
		t.Fatalf("child %d after kill: %v", child, err)
	}
	if code := run.exitCode(); code != 0 {
		t.Fatalf("run exited %d, want the command's 0", code)
	}
	assertFree(t, lockDir)
}

// TestTreeChildKeepingOnlyTheLockOutlivesWrapperAndFiles: a child that
// closed the name token's descriptor (4) but kept the lock's (3) outlives
// the command; then run is killed with SIGKILL (the child, not run's own
// child, lives on) and every file of the name is deleted. Nothing but the
// kernel's lock on the deleted file shows the child: check must say
// running and a second copy must not start, with no lock file and with the
// one a refused copy leaves behind. The child ignores SIGTERM: kill must
// not report it stopped while it holds the name, and kill --force must
// stop it.
func TestTreeChildKeepingOnlyTheLockOutlivesWrapperAndFiles(t *testing.T) {
	t.Parallel()
	lockDir, run, child := startLockOnlyTree(t, "(trap '' TERM; exec sleep 300)")
	run.killLeaving(child)
	removeAll(t, lockDir)
	assertHeld(t, lockDir, child) // no lock file; the refused copy leaves one
	assertHeld(t, lockDir, child)
	killed, err := singleinstance.KillRunning("app", false, singleinstance.WithLockDir(lockDir),
		singleinstance.WithStopTimeout(quiet))
	if killed || !errors.Is(err, singleinstance.ErrStopTimeout) {
		t.Fatalf("KillRunning of a child that ignores SIGTERM = %v, %v; want false, ErrStopTimeout", killed, err)
	}
	if !alive(child) {
		t.Fatal("the child died of the SIGTERM it ignores")
	}
	stopChild(t, lockDir, child, true)
}

// TestTreeChildHandsTheLockOnWhenKilled: a child that kept only the lock's
// descriptor outlives run (SIGKILLed) and every file of the name; when
// kill signals it, it hands the lock on, to a process it starts that
// ignores SIGTERM, and exits. kill must not report the name stopped while
// that process holds it, and must signal it in turn; kill --force then
// stops it and frees the name.
func TestTreeChildHandsTheLockOnWhenKilled(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	script, handed := filepath.Join(dir, "handoff.sh"), filepath.Join(dir, "handed")
	if err := os.WriteFile(script, []byte(`trap '(trap "" TERM; exec sleep 300) & echo $! > "$1"; exit 0' TERM
sleep 300 3>&- &
wait
`), 0o600); err != nil {
		t.Fatal(err)
	}
	lockDir, run, child := startLockOnlyTree(t, "sh "+script+" "+handed)
	run.killLeaving(child)
	removeAll(t, lockDir)
	assertHeld(t, lockDir, child)
	killed, err := singleinstance.KillRunning("app", false, singleinstance.WithLockDir(lockDir),
		singleinstance.WithStopTimeout(time.Second))
	if killed || !errors.Is(err, singleinstance.ErrStopTimeout) {
		t.Fatalf("KillRunning of a holder that hands the lock on = %v, %v; want false, ErrStopTimeout", killed, err)
	}
	heir := readPID(t, handed)
	if err := waitGone(child, treeDeadline); err != nil {
		t.Fatalf("child %d after handing the lock on: %v", child, err)
	}
	assertHeld(t, lockDir, heir)
	stopChild(t, lockDir, heir, true)
}

// TestTreeLockFileCopiedOverAfterWrapperKilled: a child that kept only the
// lock's descriptor outlives run, SIGKILLed; then the lock file is replaced
// by a copy of itself (what cp and mv, an editor's save or a backup put
// back do). The copy says "held" but is another file, free: the child,
// holding the deleted original, must still keep the name held.
func TestTreeLockFileCopiedOverAfterWrapperKilled(t *testing.T) {
	t.Parallel()
	lockDir, run, child := startLockOnlyTree(t, "sleep 300")
	run.killLeaving(child)
	lock := filepath.Join(lockDir, "app.lock")
	data, err := os.ReadFile(lock)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(lock+".copy", data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(lock+".copy", lock); err != nil {
		t.Fatal(err)
	}
	assertHeld(t, lockDir, child)
	stopChild(t, lockDir, child, false)
}

// TestTreeChildKeepingOnlyTheLockAfterRestoreAndWrapperKilled: a child
// that closed the name token's descriptor (4) but kept the lock's (3)
// outlives the command; the lock file is deleted and run restores it (a
// new file, locked by run alone); then run is killed with SIGKILL. The
// restored file is free now, and its record and .info file name run's
// acquisition, as after any crash: the child, holding the deleted file
// alone, must still keep the name held, and kill must stop it.
func TestTreeChildKeepingOnlyTheLockAfterRestoreAndWrapperKilled(t *testing.T) {
	t.Parallel()
	lockDir, run, child := startLockOnlyTree(t, "sleep 300")
	if err := os.Remove(filepath.Join(lockDir, "app.lock")); err != nil {
		t.Fatal(err)
	}
	run.expect("protection restored")
	run.killLeaving(child)
	assertHeld(t, lockDir, child)
	stopChild(t, lockDir, child, false)
}

// TestTreeDeletionWithWaitersThroughAnotherPath: the lock directory is
// reached through a symbolic link by the waiters and directly by the
// holder, whose command has exited leaving a child. Deleting the lock file
// (or every file) must not let a waiter start while the child lives.
func TestTreeDeletionWithWaitersThroughAnotherPath(t *testing.T) {
	t.Parallel()
	for _, everything := range []bool{false, true} {
		for round := range 3 {
			dir := t.TempDir()
			lockDir, alias := filepath.Join(dir, "locks"), filepath.Join(dir, "alias")
			if err := os.Mkdir(lockDir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(lockDir, alias); err != nil {
				t.Fatal(err)
			}
			childFile, journal := filepath.Join(dir, "child"), filepath.Join(dir, "journal")
			run := startCLI(t, lockDir, "run", "app", "--", "sh", "-c",
				"sleep 300 </dev/null >/dev/null 2>&1 & echo $! > "+childFile+"; exit 0")
			child := readPID(t, childFile)
			run.expect("still hold 'app'")
			var waiters []*cliProc
			for range 2 {
				w := startCLI(t, alias, "-v", "run", "--wait", "forever", "app", "--", "sh", "-c", "echo started >> "+journal)
				w.expect("waiting for 'app'")
				waiters = append(waiters, w)
			}
			if everything {
				removeAll(t, lockDir)
			} else if err := os.Remove(filepath.Join(lockDir, "app.lock")); err != nil {
				t.Fatal(err)
			}
			time.Sleep(quiet) // watch for a waiter that wrongly starts
			if data, _ := os.ReadFile(journal); len(data) > 0 {
				t.Fatalf("everything=%v round %d: a waiter started while child %d holds the name", everything, round, child)
			}
			if !run.stillRunning() {
				t.Fatalf("everything=%v round %d: run exited (code %d) while its child holds the name", everything, round, run.exitCode())
			}
			killName(t, lockDir, false)
			if code := run.exitCode(); code != 0 {
				t.Fatalf("run exited %d, want 0", code)
			}
			for _, w := range waiters {
				if code := w.exitCode(); code != 0 {
					t.Fatalf("waiter exited %d, want 0", code)
				}
			}
			if data, _ := os.ReadFile(journal); strings.Count(string(data), "started") != 2 {
				t.Fatalf("journal %q, want both waiters to have run in turn", data)
			}
		}
	}
}

// TestTreeLockFileMovedAwayAndBack: while run guards a command, its lock
// file is renamed away (run restores: a new file, which it alone locks)
// and then renamed back over the new one, twice. The file back at the
// path is the one the command holds: run must take it back as its lock,
// not declare the lock lost and stop the command; the name stays held
// throughout, the description names the file at the path, and kill
// stops the command.
func TestTreeLockFileMovedAwayAndBack(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	lockDir, cmdFile := filepath.Join(dir, "locks"), filepath.Join(dir, "cmd")
	run := startCLI(t, lockDir, "run", "app", "--", "sh", "-c", "echo $$ > "+cmdFile+"; exec sleep 300")
	command := readPID(t, cmdFile)
	lock, away := filepath.Join(lockDir, "app.lock"), filepath.Join(dir, "app.lock.away")
	for round := range 2 {
		if err := os.Rename(lock, away); err != nil {
			t.Fatal(err)
		}
		run.expect("protection restored")
		assertHeld(t, lockDir)
		if err := os.Rename(away, lock); err != nil {
			t.Fatal(err)
		}
		run.expect("protection restored")
		if !run.stillRunning() {
			t.Fatalf("round %d: run exited (code %d) once its command's lock file was put back", round, run.exitCode())
		}
		assertHeld(t, lockDir, command)
		assertDescribesLockFile(t, lockDir)
	}
	killCommand(t, run, lockDir)
}

// TestTreeInheritedLockFileFreedAtExit: while run guards a command, its
// lock file (the one the command inherited) is renamed away and run
// restores the name on a new one. Once the command is stopped and run has
// exited, the renamed file must not still say "held": put back at the
// path, it would read as held by a holder that no longer runs, and a later
// holder that restores onto it while a newcomer looks at it would take
// the newcomer's look for a newer holder and stop its own command.
func TestTreeInheritedLockFileFreedAtExit(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	lockDir, cmdFile := filepath.Join(dir, "locks"), filepath.Join(dir, "cmd")
	run := startCLI(t, lockDir, "run", "app", "--", "sh", "-c", "echo $$ > "+cmdFile+"; exec sleep 300")
	readPID(t, cmdFile)
	lock, away := filepath.Join(lockDir, "app.lock"), filepath.Join(dir, "app.lock.away")
	if err := os.Rename(lock, away); err != nil {
		t.Fatal(err)
	}
	run.expect("protection restored")
	killCommand(t, run, lockDir)
	for _, p := range []string{away, lock} {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if state := recordState(data); state != "free" && state != "left" {
			t.Errorf("%s says state=%s after run exited; want free (or left)", filepath.Base(p), state)
		}
	}
}

// recordState returns the state word of a lock file's record.
func recordState(data []byte) string {
	_, after, _ := strings.Cut(string(data), " state=")
	state, _, _ := strings.Cut(after, " ")
	return state
}

// TestTreeLockDirLinkRolledBack: the lock directory is a symbolic link
// (a deploy's "current"), flipped to another directory while run guards a
// command (run moves its lock there) and flipped back (a roll-back). The
// file at the path is then the one the command holds again: run must take
// it back, not declare the lock lost.
func TestTreeLockDirLinkRolledBack(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	rel1, rel2, current := filepath.Join(dir, "rel1"), filepath.Join(dir, "rel2"), filepath.Join(dir, "current")
	for _, d := range []string{rel1, rel2} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	flip := func(to string) {
		t.Helper()
		tmp := current + ".tmp"
		if err := os.Symlink(to, tmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, current); err != nil {
			t.Fatal(err)
		}
	}
	flip(rel1)
	cmdFile := filepath.Join(dir, "cmd")
	run := startCLI(t, current, "run", "app", "--", "sh", "-c", "echo $$ > "+cmdFile+"; exec sleep 300")
	command := readPID(t, cmdFile)
	flip(rel2)
	run.expect("protection restored")
	assertHeld(t, current)
	flip(rel1)
	run.expect("protection restored")
	if !run.stillRunning() {
		t.Fatalf("run exited (code %d) after the roll-back", run.exitCode())
	}
	assertHeld(t, current, command)
	assertDescribesLockFile(t, current)
	killCommand(t, run, current)
}

// assertDescribesLockFile checks that the name's description names the
// lock file at its path and is verified by the kernel's lock.
func assertDescribesLockFile(t *testing.T, lockDir string) {
	t.Helper()
	st, err := singleinstance.Status("app", singleinstance.WithLockDir(lockDir))
	if err != nil {
		t.Fatal(err)
	}
	if st.Holder == nil || !st.Verified {
		t.Fatalf("Status = holder %+v, verified %v; want a holder that the lock file at the path verifies", st.Holder, st.Verified)
	}
}

// killCommand stops run's command with kill and checks that run exits as
// its command did (SIGTERM) and that the name is then free.
func killCommand(t *testing.T, run *cliProc, lockDir string) {
	t.Helper()
	killName(t, lockDir, false)
	if code := run.exitCode(); code != 128+int(syscall.SIGTERM) {
		t.Fatalf("run exited %d, want %d (its command stopped by kill)", code, 128+int(syscall.SIGTERM))
	}
	assertFree(t, lockDir)
}

// TestRunWaitOutlastsRelinkLoop: while nobody holds the name, a loop links
// a free copy of the lock file over the lock path as fast as it can (no
// fork between links). "run --wait" must not give up before its deadline
// for anything the loop does, its quick first try included; it starts its
// command in some gap of the loop or once the loop stops.
func TestRunWaitOutlastsRelinkLoop(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	lockDir := filepath.Join(dir, "locks")
	if code := startCLI(t, lockDir, "run", "app", "--", "true").exitCode(); code != 0 {
		t.Fatalf("first run exited %d", code)
	}
	lock, copied, tmp := filepath.Join(lockDir, "app.lock"), filepath.Join(dir, "copy.lock"), filepath.Join(dir, "tmp.lock")
	if err := os.Link(lock, copied); err != nil {
		t.Fatal(err)
	}
	relink := func() {
		os.Remove(tmp)
		if err := os.Link(copied, tmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, lock); err != nil {
			t.Fatal(err)
		}
	}
	marker := filepath.Join(dir, "ran")
	const relinks = 20000
	relink() // the first try meets a linked file
	run := startCLI(t, lockDir, "run", "--wait", "1m", "app", "--", "sh", "-c", "echo ran > "+marker)
	for range relinks {
		relink()
	}
	if code := run.exitCode(); code != 0 {
		t.Fatalf("run --wait 1m exited %d while the lock file was re-linked %d times; want it to start its command", code, relinks)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Fatalf("the command did not run: %v", err)
	}
}

// TestTreeLockFileRenamedAwayWhileWrapperStalled: while run is stopped
// (SIGSTOP: a stalled or busy holder, or one in its first moments, before
// its watch starts), its command's lock file is renamed to another name in
// the lock directory (a careless "mv app.lock app.lock.bak"), or swapped
// with another name's free lock file. Nothing at the lock path shows the
// holder then; the command, which holds the renamed file and the name
// token, must still hold the name: check says RUNNING, a second run is
// refused, and kill stops the command.
func TestTreeLockFileRenamedAwayWhileWrapperStalled(t *testing.T) {
	t.Parallel()
	for _, swap := range []bool{false, true} {
		dir := t.TempDir()
		lockDir, cmdFile := filepath.Join(dir, "locks"), filepath.Join(dir, "cmd")
		if swap {
			if code := startCLI(t, lockDir, "run", "other", "--", "true").exitCode(); code != 0 {
				t.Fatalf("run other exited %d", code)
			}
		}
		run := startCLI(t, lockDir, "run", "app", "--", "sh", "-c", "echo $$ > "+cmdFile+"; exec sleep 300")
		command := readPID(t, cmdFile)
		if err := run.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		lock := filepath.Join(lockDir, "app.lock")
		if swap {
			other := filepath.Join(lockDir, "other.lock")
			if err := os.Rename(lock, lock+".tmp"); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(other, lock); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(lock+".tmp", other); err != nil {
				t.Fatal(err)
			}
		} else if err := os.Rename(lock, lock+".bak"); err != nil {
			t.Fatal(err)
		}
		assertHeld(t, lockDir, command)
		if err := run.cmd.Process.Signal(syscall.SIGCONT); err != nil {
			t.Fatal(err)
		}
		killCommand(t, run, lockDir)
	}
}

// TestTreeCommandUnlocksInheritedLock: the command unlocks the lock it
// inherited (descriptor 3) but keeps descriptors 3 and 4 open. A process
// that keeps them holds the name: while run lives, it takes the lock
// again through the open file it shares; once run is SIGKILLed, a child
// that keeps them unlocked still holds the name, by the token and the
// lock file it keeps open. Neither lets a second copy start or check say
// not running, and kill stops them.
func TestTreeCommandUnlocksInheritedLock(t *testing.T) {
	t.Parallel()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Run("run alive", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		lockDir, cmdFile := filepath.Join(dir, "locks"), filepath.Join(dir, "cmd")
		run := startCLI(t, lockDir, "run", "app", "--", "env", unlockEnv+"="+cmdFile, exe)
		command := readPID(t, cmdFile)
		assertHeld(t, lockDir, command)
		// run's next check takes the lock again: the kernel's lock then
		// verifies the description.
		for deadline := time.Now().Add(treeDeadline); ; time.Sleep(pollInterval) {
			st, err := singleinstance.Status("app", singleinstance.WithLockDir(lockDir))
			if err == nil && st.Verified {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("run did not take the lock again within %v: Status = %+v, %v", treeDeadline, st, err)
			}
		}
		assertHeld(t, lockDir, command)
		killCommand(t, run, lockDir)
	})
	t.Run("run killed", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		lockDir, childFile := filepath.Join(dir, "locks"), filepath.Join(dir, "child")
		run := startCLI(t, lockDir, "run", "app", "--", "sh", "-c",
			"env "+unlockEnv+"="+childFile+" "+exe+" </dev/null >/dev/null 2>&1 & exit 0")
		child := readPID(t, childFile)
		run.expect("still hold 'app'")
		run.killLeaving(child)
		assertHeld(t, lockDir, child)
		stopChild(t, lockDir, child, false)
	})
	// The lock file renamed or deleted first (run restores a new one),
	// then run SIGKILLed, and only then the child unlocks: the file it
	// keeps is under another name, or has none.
	for _, how := range []string{"renamed", "deleted"} {
		t.Run(how+", run killed, then unlocked", func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			lockDir := filepath.Join(dir, "locks")
			lu := startLateUnlocker(t, lockDir, dir)
			lock := filepath.Join(lockDir, "app.lock")
			var err error
			if how == "renamed" {
				err = os.Rename(lock, lock+".bak")
			} else {
				err = os.Remove(lock)
			}
			if err != nil {
				t.Fatal(err)
			}
			lu.run.expect("protection restored")
			lu.run.killLeaving(lu.child)
			lu.unlockAndAssertHeld(t, lockDir)
		})
	}
}

// A lateUnlocker is "run app" whose command started, in the background, a
// child that keeps descriptors 3 and 4 and unlocks 3 when told, then
// exited.
type lateUnlocker struct {
	run               *cliProc
	child             int
	childFile, goFile string
}

// startLateUnlocker starts a lateUnlocker with its files in dir and
// returns once run says it waits for the child.
func startLateUnlocker(t *testing.T, lockDir, dir string) *lateUnlocker {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	lu := &lateUnlocker{childFile: filepath.Join(dir, "child"), goFile: filepath.Join(dir, "go")}
	lu.run = startCLI(t, lockDir, "run", "app", "--", "sh", "-c",
		"env "+unlockEnv+"="+lu.childFile+":"+lu.goFile+" "+exe+" </dev/null >/dev/null 2>&1 & exit 0")
	lu.child = readPID(t, lu.childFile)
	lu.run.expect("still hold 'app'")
	return lu
}

// unlockAndAssertHeld tells the child to unlock, waits until it has, and
// checks that the name is still held by it until kill stops it.
func (lu *lateUnlocker) unlockAndAssertHeld(t *testing.T, lockDir string) {
	t.Helper()
	if err := os.WriteFile(lu.goFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	waitExists(t, lu.childFile+".unlocked")
	assertHeld(t, lockDir, lu.child)
	stopChild(t, lockDir, lu.child, false)
}

// TestTreeCommandUnlocksAfterStaleToken: a process that holds the name
// token but no lock (one that closed descriptor 3 and runs on, or a
// wrapper stopped after its command's tree has gone) must not leave the
// next holder without a token: that holder's command may unlock the lock
// it inherited, and only a token then shows its tree. The next holder's
// command unlocks after its wrapper is killed: the name stays held.
func TestTreeCommandUnlocksAfterStaleToken(t *testing.T) {
	t.Parallel()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		stale func(t *testing.T, lockDir, dir string)
	}{
		{"token kept without the lock", func(t *testing.T, lockDir, dir string) {
			staleFile := filepath.Join(dir, "stale")
			first := startCLI(t, lockDir, "run", "app", "--", "sh", "-c",
				"(exec 3>&-; exec sleep 3600) </dev/null >/dev/null 2>&1 & echo $! > "+staleFile+"; exit 0")
			if code := first.exitCode(); code != 0 {
				t.Fatalf("first run exited %d, want 0", code)
			}
			stale := readPID(t, staleFile)
			t.Cleanup(func() { syscall.Kill(stale, syscall.SIGKILL) })
		}},
		{"wrapper stopped", func(t *testing.T, lockDir, dir string) {
			cmdFile := filepath.Join(dir, "cmd")
			first := startCLI(t, lockDir, "run", "app", "--", "sh", "-c",
				"kill -STOP $PPID; exec env "+unlockEnv+"="+cmdFile+" "+exe)
			command := readPID(t, cmdFile)
			// Its lock let go and its tree gone, the stopped wrapper holds
			// the token alone.
			syscall.Kill(command, syscall.SIGKILL)
			if err := waitGone(command, treeDeadline); err != nil {
				t.Fatal(err)
			}
			if !first.stillRunning() {
				t.Fatal("the stopped wrapper exited")
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			lockDir := filepath.Join(dir, "locks")
			c.stale(t, lockDir, dir)
			assertFree(t, lockDir)
			lu := startLateUnlocker(t, lockDir, dir)
			lu.run.killLeaving(lu.child)
			lu.unlockAndAssertHeld(t, lockDir)
		})
	}
}

// TestTreeRunInsideRun: "run app -- run inner -- CMD". The inner run
// takes descriptors 3 and 4 for its own lock, and passes on the outer
// ones above them: CMD's tree holds both names. If the inner run is
// SIGKILLed while a process CMD started lives, app stays held by it.
func TestTreeRunInsideRun(t *testing.T) {
	t.Parallel()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	lockDir, childFile := filepath.Join(dir, "locks"), filepath.Join(dir, "child")
	outer := startCLI(t, lockDir, "run", "app", "--", exe, "run", "inner", "--", "sh", "-c",
		"sleep 300 </dev/null >/dev/null 2>&1 & echo $! > "+childFile+"; exit 0")
	child := readPID(t, childFile)
	opt := singleinstance.WithLockDir(lockDir)
	var inner int
	for deadline := time.Now().Add(treeDeadline); ; time.Sleep(pollInterval) {
		st, err := singleinstance.Status("app", opt)
		if err == nil && st.Holder != nil && st.Holder.PID != 0 {
			inner = st.Holder.PID
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("app not described within %v: %+v, %v", treeDeadline, st, err)
		}
	}
	if inner == child {
		t.Fatalf("app describes the child %d, want the inner run", child)
	}
	for _, name := range []string{"app", "inner"} {
		st, err := singleinstance.Status(name, opt)
		if err != nil || !st.Running || !slices.ContainsFunc(st.Holding, func(h singleinstance.HoldingProcess) bool { return h.PID == child }) {
			t.Fatalf("Status(%s) = %+v, %v; want the child %d among its holders", name, st, err, child)
		}
	}
	syscall.Kill(inner, syscall.SIGKILL)
	outer.expect("still hold 'app'")
	if !alive(child) {
		t.Fatalf("child %d died with the inner run; the test needs it alive", child)
	}
	assertHeld(t, lockDir, child)
	if running, err := singleinstance.CheckRunning("inner", opt); err != nil || !running {
		t.Fatalf("CheckRunning(inner) = %v, %v; want true", running, err)
	}
	stopChild(t, lockDir, child, false)
	// The outer run's command, the inner run, was killed by SIGKILL.
	if code := outer.exitCode(); code != 128+9 {
		t.Fatalf("outer run exited %d once the child was stopped, want %d", code, 128+9)
	}
}

// TestTreeKillSparesAnotherNamesRenamedLockFile: a held lock file renamed
// to another name's path (mv app.lock other.lock, with or without its
// .info) makes that name look held, but the file's record says it was
// written for app: kill other proves no holder and signals nobody, and
// app's command runs on, still holding app.
func TestTreeKillSparesAnotherNamesRenamedLockFile(t *testing.T) {
	t.Parallel()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, withInfo := range []bool{false, true} {
		t.Run(fmt.Sprintf("info moved too %v", withInfo), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			lockDir, cmdFile := filepath.Join(dir, "locks"), filepath.Join(dir, "cmd")
			run := startCLI(t, lockDir, "run", "app", "--", "sh", "-c", "echo $$ > "+cmdFile+"; exec sleep 300")
			command := readPID(t, cmdFile)
			assertDescribesLockFile(t, lockDir)
			files := []string{".lock"}
			if withInfo {
				files = append(files, ".info", ".pid")
			}
			for _, ext := range files {
				if err := os.Rename(filepath.Join(lockDir, "app"+ext), filepath.Join(lockDir, "other"+ext)); err != nil {
					t.Fatal(err)
				}
			}
			run.expect("protection restored")
			kill := exec.Command(exe, "kill", "other")
			kill.Env = append(os.Environ(), cliEnv+"=1", "GORACE="+goRace(), "SINGLEINSTANCE_LOCK_DIR="+lockDir)
			out, err := kill.CombinedOutput()
			if code := kill.ProcessState.ExitCode(); code != exitError {
				t.Fatalf("kill other: exit %d (%v), want %d; output:\n%s", code, err, exitError, out)
			}
			t.Logf("kill other:\n%s", out)
			if !run.stillRunning() || !alive(command) {
				t.Fatal("kill other stopped app's command")
			}
			assertHeld(t, lockDir, command)
			killCommand(t, run, lockDir)
		})
	}
}
