package singleinstance_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/singleinstance/singleinstance"
	"github.com/singleinstance/singleinstance/internal/proc"
)

// The holders kill must stop, and the next holder it must never hit
// (Linux: these holders' shapes need the kernel's view of processes).
// TestKillStopsWrapperWhoseCommandEnded: a wrapper whose command has
// exited, and whose tree is gone, but which still holds the lock, is the
// holder: KillRunning must stop it rather than find no process to signal.
func TestKillStopsWrapperWhoseCommandEnded(t *testing.T) {
	t.Parallel()
	dir, opt := lockDir(t)
	wrapper := startChild(t, roleLinger, dir, testName)
	wrapper.Expect("lingering")
	stopped, err := singleinstance.KillRunning(testName, false, opt)
	if err != nil || !stopped {
		t.Fatalf("KillRunning of a wrapper whose command ended = %v, %v; want true, nil", stopped, err)
	}
	<-wrapper.Exited()
	if running, err := singleinstance.CheckRunning(testName, opt); err != nil || running {
		t.Fatalf("CheckRunning after the stop = %v, %v; want false", running, err)
	}
}

// TestKillNeverHitsTheNextHolder: kill waits for a holder whose .info file
// does not prove it (here it names a live process that holds nothing).
// Meanwhile the holder lets go and a queued waiter takes the name. Kill
// must not take the new holder for the one it began with: it stops
// nothing, and the new holder runs on.
func TestKillNeverHitsTheNextHolder(t *testing.T) {
	t.Parallel()
	dir, opt := lockDir(t)
	first := startChild(t, roleHold, dir, testName)
	first.Expect("ready")
	next := startChild(t, roleHold, dir, testName, "SI_WAIT=1")
	bystander := startChild(t, roleIdle, dir, testName)
	bystander.Expect("ready")

	// Point the holder's .info at the bystander, with its true identity,
	// so that it names a live process that holds nothing.
	id, err := proc.Lookup(bystander.Pid)
	if err != nil {
		t.Fatal(err)
	}
	info := filepath.Join(dir, testName+".info")
	data, err := os.ReadFile(info)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, line := range strings.Split(string(data), "\n") {
		switch {
		case strings.HasPrefix(line, "pid="):
			line = "pid=" + strconv.Itoa(id.PID)
		case strings.HasPrefix(line, "start_id="):
			line = "start_id=" + strconv.FormatUint(id.StartID, 10)
		}
		lines = append(lines, line)
	}
	if err := os.WriteFile(info, []byte(strings.Join(lines, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}

	waiting := make(chan struct{})
	logger := slog.New(&onMessage{text: "waiting for the holder to describe itself", seen: waiting})
	type result struct {
		stopped bool
		err     error
	}
	done := make(chan result, 1)
	go func() {
		stopped, err := singleinstance.KillRunning(testName, false, opt, singleinstance.WithLogger(logger))
		done <- result{stopped, err}
	}()
	select {
	case <-waiting:
	case res := <-done:
		t.Fatalf("KillRunning returned %v, %v without waiting for the holder", res.stopped, res.err)
	}
	first.Stdin.Close()
	next.Expect("ready")
	res := <-done
	if res.err != nil || res.stopped {
		t.Errorf("KillRunning after the name passed on = %v, %v; want false, nil", res.stopped, res.err)
	}
	st, err := singleinstance.Status(testName, opt, singleinstance.WithLiveStats(false))
	if err != nil || !st.Running || st.Holder == nil || st.Holder.PID != next.Pid {
		t.Fatalf("after the kill: Status = %+v, %v; want held by the next holder, pid %d", st, err, next.Pid)
	}
	select {
	case line := <-next.Lines():
		t.Fatalf("the next holder said %q: kill reached it", line)
	default:
	}
}

// onMessage is a slog handler that closes seen the first time a record's
// message contains text.
type onMessage struct {
	text string
	seen chan struct{}
	once sync.Once
}

func (h *onMessage) Enabled(context.Context, slog.Level) bool { return true }
func (h *onMessage) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, h.text) {
		h.once.Do(func() { close(h.seen) })
	}
	return nil
}
func (h *onMessage) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *onMessage) WithGroup(string) slog.Handler      { return h }

// TestKillStopsStoppedWrapperOfZombie: the wrapper has been stopped
// (SIGSTOP) before it reaped its exited command. The zombie holds and runs
// nothing; the wrapper holds the lock and must be stopped, and SIGTERM
// reaches a stopped process only with the SIGCONT that kill sends after it.
func TestKillStopsStoppedWrapperOfZombie(t *testing.T) {
	t.Parallel()
	dir, opt := lockDir(t)
	wrapper := startChild(t, roleLinger, dir, testName, "SI_NOREAP=1")
	wrapper.Expect("lingering")
	if err := syscall.Kill(wrapper.Pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped, err := singleinstance.KillRunning(testName, false, opt, singleinstance.WithStopTimeout(time.Minute))
	if err != nil || !stopped {
		t.Fatalf("KillRunning of a stopped wrapper whose command is a zombie = %v, %v; want true, nil", stopped, err)
	}
	<-wrapper.Exited()
}

// TestKillSeesTreeMemberWhoseMainThreadExited: a process of the tree whose
// main thread has exited while another thread keeps the descriptors still
// holds the name, though /proc/PID/fd lists nothing for it. After its
// wrapper is SIGKILLed, it is the only holder: Status must prove it (it is
// not a zombie, and it holds the lock), and KillRunning must stop it.
func TestKillSeesTreeMemberWhoseMainThreadExited(t *testing.T) {
	t.Parallel()
	dir, opt := lockDir(t)
	wrapper := startChild(t, roleWrap, dir, testName, "SI_COMMAND_ROLE="+roleThreadExit)
	wrapper.Expect("wrapping")
	line := wrapper.Expect("ready")
	pid, err := strconv.Atoi(strings.TrimPrefix(line, "ready "))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
	// Its main thread shows as a zombie once it has exited; no event
	// announces that.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(time.Millisecond) {
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err == nil {
			if i := strings.LastIndexByte(string(stat), ')'); i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the main thread of %d did not exit: %q, %v", pid, stat, err)
		}
	}
	if err := syscall.Kill(wrapper.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-wrapper.Exited()

	st, err := singleinstance.Status(testName, opt, singleinstance.WithLiveStats(false))
	if err != nil || !st.Running {
		t.Fatalf("Status = %+v, %v; want running", st, err)
	}
	if st.Holder == nil || st.Holder.PID != pid || !st.Verified {
		t.Fatalf("Status: holder %+v, verified %v; want %d proven", st.Holder, st.Verified, pid)
	}
	stopped, err := singleinstance.KillRunning(testName, false, opt)
	if err != nil || !stopped {
		t.Fatalf("KillRunning = %v, %v; want true, nil", stopped, err)
	}
	if running, err := singleinstance.CheckRunning(testName, opt); err != nil || running {
		t.Fatalf("CheckRunning after the stop = %v, %v; want false", running, err)
	}
}

// TestKillRefusesLinkedLockFile: a lock file at the path with another
// name too (a hard link, which no acquisition makes) ties its holder to
// no name. Another name's held lock file linked onto NAME.lock, with or
// without its .info copied alongside, must not let KillRunning(NAME) stop
// that name's holder; a holder of NAME whose lock file merely got a second
// link (a hard-link backup of the directory) is still proven by its name
// token, and stopped.
func TestKillRefusesLinkedLockFile(t *testing.T) {
	t.Parallel()
	dir, opt := lockDir(t)
	other := startChild(t, roleHold, dir, "other")
	other.Expect("ready")
	info, err := os.ReadFile(filepath.Join(dir, "other.info"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(dir, "other.lock"), filepath.Join(dir, testName+".lock")); err != nil {
		t.Fatal(err)
	}
	for _, copyInfo := range []bool{false, true} {
		if copyInfo {
			if err := os.WriteFile(filepath.Join(dir, testName+".info"), info, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		stopped, err := singleinstance.KillRunning(testName, true, opt)
		if stopped || !errors.Is(err, singleinstance.ErrHolderUnproven) {
			t.Errorf(".info copied %v: KillRunning = %v, %v; want false and ErrHolderUnproven", copyInfo, stopped, err)
		}
		st, err := singleinstance.Status(testName, opt)
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Holding) != 0 {
			t.Errorf(".info copied %v: Status lists %v as holding %s; want none proven", copyInfo, st.Holding, testName)
		}
	}
	select {
	case <-other.Exited():
		t.Fatalf("the other lock's holder exited (code %d): it was signalled", other.ExitCode())
	default:
	}
	if running, err := singleinstance.CheckRunning("other", opt); err != nil || !running {
		t.Fatalf("CheckRunning(other) = %v, %v; want its holder still running", running, err)
	}

	const name = "backedup"
	holder := startChild(t, roleHold, dir, name)
	holder.Expect("ready")
	if err := os.Link(filepath.Join(dir, name+".lock"), filepath.Join(t.TempDir(), name+".lock")); err != nil {
		t.Fatal(err)
	}
	stopped, err := singleinstance.KillRunning(name, false, opt)
	if err != nil || !stopped {
		t.Fatalf("KillRunning of a holder whose lock file has a backup link = %v, %v; want true, nil", stopped, err)
	}
	expectStopped(t, holder, false)
}

// TestKillLinkedLockFileWrapperProves: where the lock file has another link
// too, only the name token proves a holder (TestKillRefusesLinkedLockFile).
// A command that closed the token it inherited is proven by its wrapper,
// which holds the token and the lock, as it is when the lock file has one
// link: KillRunning stops it.
func TestKillLinkedLockFileWrapperProves(t *testing.T) {
	t.Parallel()
	dir, opt := lockDir(t)
	wrapper := startChild(t, roleWrap, dir, testName, closeTokenEnv+"=1")
	wrapper.Expect("wrapping")
	wrapper.Expect("ready")
	if err := os.Link(filepath.Join(dir, testName+".lock"), filepath.Join(t.TempDir(), testName+".lock")); err != nil {
		t.Fatal(err)
	}
	stopped, err := singleinstance.KillRunning(testName, false, opt)
	if err != nil || !stopped {
		t.Fatalf("KillRunning of a command that closed its token, lock file with a backup link = %v, %v; want true, nil", stopped, err)
	}
	wrapper.Expect("command ended")
}
