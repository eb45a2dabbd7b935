//go:build linux

package singleinstance_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/singleinstance/singleinstance"
	"github.com/singleinstance/singleinstance/internal/filelock"
	"golang.org/x/sys/unix"
)

// Child roles of the tests of waiting (see runChild).
const (
	// roleStubborn takes the lock with New, prints "ready PID", prints
	// "sigterm" for each SIGTERM and ignores it otherwise, and releases
	// when its stdin closes, printing "released NANOS" (the wall-clock
	// time just before Release).
	roleStubborn = "stubborn"
	// roleWaiter prints "started", waits for the lock with New and
	// WithTimeout(-1), prints "acquired NANOS" once it holds it, and
	// releases when its stdin closes.
	roleWaiter = "waiter"
	// roleKiller prints "started", stops the holder with KillRunning
	// (SIGTERM, a stop timeout of a minute), and prints "stopped NANOS
	// KILLED ERR".
	roleKiller = "killer"
	// roleMany takes SI_COUNT names, n0, n1, ..., and prints "held N",
	// then "inotify K" (its inotify descriptors) and "fresh ok" if one
	// more inotify instance can still be created (else "fresh ERR"). For
	// each line on its stdin it prints "inotify K" again. It releases them
	// all when its stdin closes, printing "released".
	roleMany = "many"
)

// runWaitChild runs role if it is one of the above.
func runWaitChild(role, dir, name string) (code int, ok bool) {
	switch role {
	case roleStubborn, roleWaiter, roleKiller, roleMany:
		return runWaitRole(role, dir, name), true
	}
	return 0, false
}

func runWaitRole(role, dir, name string) int {
	opts := []singleinstance.Option{singleinstance.WithLockDir(dir), singleinstance.WithLiveStats(false)}
	stdinClosed := func() { io.Copy(io.Discard, os.Stdin) }
	switch role {
	case roleStubborn:
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM)
		inst, err := singleinstance.New(name, opts...)
		if err != nil {
			fmt.Println("error", err)
			return 1
		}
		fmt.Printf("ready %d\n", os.Getpid())
		go func() {
			for range sig {
				fmt.Println("sigterm")
			}
		}()
		stdinClosed()
		fmt.Printf("released %d\n", time.Now().UnixNano())
		inst.Release()
		return 0
	case roleWaiter:
		fmt.Println("started")
		inst, err := singleinstance.New(name, append(opts, singleinstance.WithTimeout(-1))...)
		if err != nil {
			fmt.Println("error", err)
			return 1
		}
		fmt.Printf("acquired %d\n", time.Now().UnixNano())
		stdinClosed()
		inst.Release()
		return 0
	case roleKiller:
		fmt.Println("started")
		killed, err := singleinstance.KillRunning(name, false, append(opts, singleinstance.WithStopTimeout(time.Minute))...)
		fmt.Printf("stopped %d %v %v\n", time.Now().UnixNano(), killed, err)
		return 0
	case roleMany:
		n, _ := strconv.Atoi(os.Getenv("SI_COUNT"))
		insts := make([]*singleinstance.Instance, 0, n)
		quiet := singleinstance.WithLogger(slog.New(slog.DiscardHandler)) // 200 restores are no news
		for i := range n {
			inst, err := singleinstance.New(fmt.Sprintf("n%d", i), append(opts, quiet)...)
			if err != nil {
				fmt.Println("error", err)
				return 1
			}
			insts = append(insts, inst)
		}
		fmt.Println("held", len(insts))
		fmt.Println("inotify", len(inotifyFDs()))
		if fd, err := unix.InotifyInit1(unix.IN_CLOEXEC); err != nil {
			fmt.Println("fresh", err)
		} else {
			unix.Close(fd)
			fmt.Println("fresh ok")
		}
		for sc := bufio.NewScanner(os.Stdin); sc.Scan(); {
			fmt.Println("inotify", len(inotifyFDs()))
		}
		for _, inst := range insts {
			inst.Release()
		}
		fmt.Println("released")
		return 0
	}
	return 2
}

// inotifyFDs lists the process's inotify descriptors.
func inotifyFDs() []string {
	entries, _ := os.ReadDir("/proc/self/fd")
	var fds []string
	for _, e := range entries {
		if l, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil && l == "anon_inode:inotify" {
			fds = append(fds, e.Name())
		}
	}
	return fds
}

// cpuWindow is how long the tests of waiting measure a waiting process's
// CPU time, and maxCPUShare the share of one core it may use in that time.
const (
	cpuWindow   = 3 * time.Second
	maxCPUShare = 0.02
)

// wakeDeadline bounds the wait for a waiter to see a change; a passing one
// takes a millisecond or so.
const wakeDeadline = 30 * time.Second

// procCPU returns the CPU time, user and system, that process pid has
// used, from /proc/PID/stat (in clock ticks of 10ms: USER_HZ is 100 on
// every architecture Go supports on Linux).
func procCPU(t *testing.T, pid int) time.Duration {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// The command name, in parentheses, may hold spaces: count fields
	// after it. utime and stime are fields 14 and 15 of the line.
	s := string(data)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		t.Fatalf("/proc/%d/stat: %v", pid, err)
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// measureIdle measures the CPU time of the children over cpuWindow, during
// which none of them may print anything, and fails the test for each one
// that used more than maxCPUShare of one core.
func measureIdle(t *testing.T, children map[string]*child) {
	t.Helper()
	before := make(map[string]time.Duration)
	for what, c := range children {
		before[what] = procCPU(t, c.Pid)
	}
	start := time.Now()
	time.Sleep(cpuWindow) // the window itself: the children must stay idle in it
	elapsed := time.Since(start)
	for what, c := range children {
		used := procCPU(t, c.Pid) - before[what]
		share := float64(used) / float64(elapsed)
		t.Logf("%s (pid %d): %v of CPU in %v, %.2f%% of one core", what, c.Pid, used, elapsed.Round(time.Millisecond), 100*share)
		if share > maxCPUShare {
			t.Errorf("%s used %.1f%% of one core while waiting, want under %.0f%%", what, 100*share, 100*maxCPUShare)
		}
		select {
		case line := <-c.Lines():
			t.Fatalf("%s printed %q while it should wait", what, line)
		default:
		}
	}
}

// stamp parses the wall-clock nanoseconds after prefix in a child's line.
func stamp(t *testing.T, line, prefix string) time.Time {
	t.Helper()
	f := strings.Fields(strings.TrimPrefix(line, prefix))
	if len(f) == 0 {
		t.Fatalf("no time in %q", line)
	}
	ns, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil {
		t.Fatalf("no time in %q: %v", line, err)
	}
	return time.Unix(0, ns)
}

// TestWaitingCostsNoCPU: a process waiting for the lock (New with
// WithTimeout), a process waiting in KillRunning for a holder that ignores
// SIGTERM, and that holder's own watchdog all use next to no CPU over a few
// seconds; when the holder then releases, the kernel's events wake both
// waiters at once.
func TestWaitingCostsNoCPU(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	holder := startChild(t, roleStubborn, dir, testName)
	holder.Expect("ready")
	waiter := startChild(t, roleWaiter, dir, testName)
	waiter.Expect("started")
	killer := startChild(t, roleKiller, dir, testName)
	killer.Expect("started")
	holder.Expect("sigterm") // the killer now waits for the release

	measureIdle(t, map[string]*child{"holder": holder, "waiting New": waiter, "waiting KillRunning": killer})

	holder.Stdin.Close()
	released := stamp(t, holder.Expect("released "), "released ")
	acquired := stamp(t, waiter.Expect("acquired "), "acquired ")
	stopped := killer.Expect("stopped ")
	if !strings.HasSuffix(stopped, " true <nil>") {
		t.Fatalf("KillRunning: %q, want killed without error", stopped)
	}
	t.Logf("after the holder released: the waiter held the lock in %v, KillRunning returned in %v",
		acquired.Sub(released), stamp(t, stopped, "stopped ").Sub(released))
	if d := acquired.Sub(released); d > wakeDeadline {
		t.Errorf("the waiter took %v to take the lock", d)
	}
}

// TestManyHeldNamesShareOneInotify: one process holding 200 names uses one
// inotify instance, so others can still be created (the default limit is
// 128 per user); and each of the 200 still restores its lock file when all
// of them are deleted at once.
func TestManyHeldNamesShareOneInotify(t *testing.T) {
	t.Parallel()
	const n = 200
	dir, opt := lockDir(t)
	many := startChild(t, roleMany, dir, "", fmt.Sprintf("SI_COUNT=%d", n))
	many.Expect(fmt.Sprintf("held %d", n))
	if line := many.Expect("inotify "); line != "inotify 1" {
		t.Fatalf("holder of %d names: %q, want one inotify instance", n, line)
	}
	if line := many.Expect("fresh "); line != "fresh ok" {
		t.Fatalf("holder of %d names: %q, want a new inotify instance to be possible", n, line)
	}

	for i := range n {
		if err := os.Remove(filepath.Join(dir, fmt.Sprintf("n%d.lock", i))); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), wakeDeadline)
	defer cancel()
	start := time.Now()
	for i := range n {
		name := fmt.Sprintf("n%d", i)
		path := filepath.Join(dir, name+".lock")
		w, err := filelock.Watch(path)
		if err != nil {
			t.Fatal(err)
		}
		for !restored(t, name, path, opt) {
			if err := w.Wait(ctx, 100*time.Millisecond); err != nil {
				w.Close()
				t.Fatalf("lock file of %s not restored within %v", name, wakeDeadline)
			}
		}
		w.Close()
	}
	t.Logf("all %d deleted lock files restored within %v", n, time.Since(start).Round(time.Millisecond))
	if _, err := many.Stdin.Write([]byte("\n")); err != nil {
		t.Fatal(err)
	}
	if line := many.Expect("inotify "); line != "inotify 1" {
		t.Fatalf("holder of %d names after restoring them: %q, want one inotify instance", n, line)
	}
	many.Stdin.Close()
	many.Expect("released")
}

// restored reports whether the lock file at path exists and is the one the
// holder of name holds.
func restored(t *testing.T, name, path string, opt singleinstance.Option) bool {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		return false
	}
	st, err := singleinstance.Status(name, opt, singleinstance.WithLiveStats(false))
	if err != nil {
		t.Fatal(err)
	}
	return st.Running && !st.Orphaned && st.Verified
}
