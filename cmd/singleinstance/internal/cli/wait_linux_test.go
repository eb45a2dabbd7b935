//go:build linux

package cli

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/singleinstance/singleinstance"
)

// waitCPUWindow is how long TestWaitCostsNoCPU measures each waiting
// "wait", and waitMaxCPUShare the share of one core it may use meanwhile.
// An idle waiter measures 0 to 1% under the race detector, up to 2.3% while
// the rest of the suite loads both cores (the kernel charges CPU time in
// 10ms ticks); one that polls every few milliseconds uses many times the
// bound.
const (
	waitCPUWindow   = 3 * time.Second
	waitMaxCPUShare = 0.05
)

// waiter is a running "singleinstance wait".
type waiter struct {
	what    string
	lockDir string
	cmd     *exec.Cmd
	stderr  chan string // its lines; closed at EOF
	exited  chan error
	before  time.Duration
}

func startWait(t *testing.T, what, lockDir string, args ...string) *waiter {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), exe, append([]string{"wait", "-v", "--timeout", "1m"}, args...)...)
	cmd.Env = append(os.Environ(), cliEnv+"=1", "GORACE="+goRace(), singleinstance.LockDirEnv+"="+lockDir)
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w := &waiter{what: what, lockDir: lockDir, cmd: cmd, stderr: make(chan string, 16), exited: make(chan error, 1)}
	go func() {
		for sc := bufio.NewScanner(pipe); sc.Scan(); {
			w.stderr <- sc.Text()
		}
		close(w.stderr)
		w.exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-w.exited
	})
	return w
}

// expectWaiting waits until the waiter says it waits.
func (w *waiter) expectWaiting(t *testing.T) {
	t.Helper()
	select {
	case line, ok := <-w.stderr:
		if !ok || !strings.HasPrefix(line, "singleinstance: waiting for 'app'") {
			t.Fatalf("%s: %q, want it to wait", w.what, line)
		}
	case <-time.After(scriptDeadline):
		t.Fatalf("%s: not waiting after %v", w.what, scriptDeadline)
	}
}

// expectExit waits until the waiter ends, successfully, and returns when.
func (w *waiter) expectExit(t *testing.T) time.Time {
	t.Helper()
	for {
		select {
		case line, ok := <-w.stderr:
			if ok {
				t.Logf("%s: %s", w.what, line)
				continue
			}
			err := <-w.exited
			end := time.Now()
			w.exited <- err
			if err != nil {
				t.Fatalf("%s: %v", w.what, err)
			}
			return end
		case <-time.After(scriptDeadline):
			t.Fatalf("%s: still waiting %v after the change", w.what, scriptDeadline)
		}
	}
}

// waitProcCPU returns the CPU time, user and system, that process pid has
// used, from /proc/PID/stat (in clock ticks of 10ms: USER_HZ is 100 on
// every architecture Go supports on Linux).
func waitProcCPU(t *testing.T, pid int) time.Duration {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:]) // fields 3 and on
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		t.Fatalf("/proc/%d/stat: %v", pid, err)
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// TestWaitCostsNoCPU starts "wait" for a held lock (--until free) and for
// a free one (--until held) with no lock directory yet, with an empty one,
// and with a lock file that nobody holds, while another name is held on
// the same file system. Over a few seconds each uses next to no CPU; each
// then returns as soon as its state is reached.
func TestWaitCostsNoCPU(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	dir := func(name string, create bool) string {
		d := filepath.Join(root, name, "locks")
		if create {
			if err := os.MkdirAll(d, 0o700); err != nil {
				t.Fatal(err)
			}
		}
		return d
	}
	take := func(lockDir string) *singleinstance.Instance {
		t.Helper()
		inst, err := singleinstance.New("app", singleinstance.WithLockDir(lockDir), singleinstance.WithLiveStats(false))
		if err != nil {
			t.Fatal(err)
		}
		return inst
	}

	heldDir := dir("held", true)
	holder := take(heldDir)
	defer holder.Release()
	// A lock of another name, elsewhere on the same file system: a
	// waiter that searched for the holders of a deleted lock file at each
	// wake-up would read every process's descriptors each time.
	defer take(dir("other", true)).Release()
	freeFileDir := dir("free-file", true)
	take(freeFileDir).Release()

	free := startWait(t, "wait --until free, held", heldDir, "app")
	noDir := startWait(t, "wait --until held, no lock directory", dir("no-dir", false), "--until", "held", "app")
	noFile := startWait(t, "wait --until held, no lock file", dir("no-file", true), "--until", "held", "app")
	freeFile := startWait(t, "wait --until held, lock file free", freeFileDir, "--until", "held", "app")
	waiters := []*waiter{free, noDir, noFile, freeFile}
	for _, w := range waiters {
		w.expectWaiting(t)
		w.before = waitProcCPU(t, w.cmd.Process.Pid)
	}
	start := time.Now()
	time.Sleep(waitCPUWindow) // the window itself: the waiters must stay idle in it
	elapsed := time.Since(start)
	for _, w := range waiters {
		used := waitProcCPU(t, w.cmd.Process.Pid) - w.before
		share := float64(used) / float64(elapsed)
		t.Logf("%s: %v of CPU in %v, %.2f%% of one core", w.what, used, elapsed.Round(time.Millisecond), 100*share)
		if share > waitMaxCPUShare {
			t.Errorf("%s used %.1f%% of one core, want under %.0f%%", w.what, 100*share, 100*waitMaxCPUShare)
		}
		select {
		case line, ok := <-w.stderr:
			t.Fatalf("%s ended or printed %q while it should wait (%v)", w.what, line, ok)
		default:
		}
	}

	changed := time.Now()
	holder.Release()
	t.Logf("%s: returned %v after the release", free.what, free.expectExit(t).Sub(changed))
	for _, w := range waiters[1:] {
		changed := time.Now()
		inst := take(w.lockDir)
		t.Logf("%s: returned %v after the lock was taken", w.what, w.expectExit(t).Sub(changed))
		inst.Release()
	}
}
