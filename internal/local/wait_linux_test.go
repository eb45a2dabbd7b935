package local

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/singleinstance/singleinstance/internal/filelock"
)

// scriptedEvents is an eventSource whose waits end as its script says:
// each runs its step and returns the step's quiet.
type scriptedEvents struct {
	steps []func() (quiet bool)
	waits int
}

var errScriptEnded = errors.New("the script of waits ended")

func (e *scriptedEvents) WaitQuiet(context.Context, time.Duration) (bool, error) {
	if e.waits == len(e.steps) {
		return false, errScriptEnded
	}
	step := e.steps[e.waits]
	e.waits++
	return step(), nil
}

func (e *scriptedEvents) Close() error { return nil }

// TestWaitSearchesDeletedAfterEventsOnly: a wait for held looks for the
// holders of a deleted lock file on its first look and after every wait
// that an event ended, and skips that search after a quiet wait. The
// holder here locks the file at the lock path and deletes it, as a tree
// member that keeps the lock of a dead wrapper does; the script says the
// wait it happened in was quiet (which a real Watcher would not), and the
// wait only sees the holder after the next, evented one.
func TestWaitSearchesDeletedAfterEventsOnly(t *testing.T) {
	t.Parallel()
	s, err := Open(Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(s.Dir(), 0o700); err != nil {
		t.Fatal(err)
	}
	holdDeleted := func() bool {
		f, err := os.OpenFile(s.LockPath("app"), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		if err := filelock.TryLock(f); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(f.Name()); err != nil {
			t.Fatal(err)
		}
		return true
	}
	quiet := func() bool { return true }
	evented := func() bool { return false }
	events := &scriptedEvents{steps: []func() bool{quiet, holdDeleted, quiet, evented, quiet}}
	watch := func(string) (eventSource, error) { return events, nil }
	if err := s.wait(t.Context(), "app", true, watch); err != nil {
		t.Fatalf("wait for held: %v after %d waits", err, events.waits)
	}
	if events.waits != 4 {
		t.Fatalf("wait for held saw the deleted lock's holder after %d waits, want 4 (after the first evented one)", events.waits)
	}
	if running, err := s.Running("app"); err != nil || !running {
		t.Fatalf("Running with a deleted lock file held: %v, %v; want true", running, err)
	}
}

// TestWaitForFreeFollowsHandedOnLock: a wait for free on a name whose only
// holder holds a deleted lock file goes on when that holder hands the lock
// on (forks a child that keeps it) and exits: the holders it knew are
// gone, so it searches again and finds the heir. It returns once the heir
// exits.
func TestWaitForFreeFollowsHandedOnLock(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, err := Open(Config{Dir: filepath.Join(dir, "locks")})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(s.Dir(), 0o700); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(s.LockPath("app"), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := filelock.TryLock(f); err != nil {
		t.Fatal(err)
	}
	heirFile := filepath.Join(dir, "heir")
	holder := exec.Command("sh", "-c", `trap 'sleep 300 & echo $! > "$1"; exit 0' TERM
echo trapped
sleep 300 3>&- &
wait`, "sh", heirFile)
	holder.ExtraFiles = []*os.File{f}
	trapped, err := holder.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	// A TERM before the trap is set would end the holder with no heir.
	if _, err := bufio.NewReader(trapped).ReadString('\n'); err != nil {
		t.Fatalf("holder did not start: %v", err)
	}
	if err := os.Remove(s.LockPath("app")); err != nil {
		t.Fatal(err)
	}
	var heir int
	t.Cleanup(func() {
		holder.Process.Kill()
		holder.Wait()
		if heir > 0 {
			syscall.Kill(heir, syscall.SIGKILL)
		}
	})
	handOn := func() bool {
		holder.Process.Signal(syscall.SIGTERM)
		holder.Wait()
		deadline := time.Now().Add(20 * time.Second)
		for heir == 0 {
			if data, err := os.ReadFile(heirFile); err == nil && strings.HasSuffix(string(data), "\n") {
				heir, _ = strconv.Atoi(strings.TrimSpace(string(data)))
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the holder handed the lock to no one")
			}
			time.Sleep(5 * time.Millisecond) // polling for a file: no event to wait on
		}
		return false
	}
	endHeir := func() bool {
		p, _ := os.FindProcess(heir)
		p.Kill()
		for deadline := time.Now().Add(20 * time.Second); ; {
			if _, err := os.Stat("/proc/" + strconv.Itoa(heir)); err != nil {
				break
			}
			// The heir is this test's grandchild, reaped by init once its
			// parent has exited; its /proc entry goes then.
			if time.Now().After(deadline) {
				t.Fatal("the heir did not exit")
			}
			time.Sleep(5 * time.Millisecond)
		}
		return false
	}
	events := &scriptedEvents{steps: []func() bool{handOn, endHeir}}
	watch := func(string) (eventSource, error) { return events, nil }
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := s.wait(ctx, "app", false, watch); err != nil {
		t.Fatalf("wait for free: %v after %d waits", err, events.waits)
	}
	if events.waits != 2 {
		t.Fatalf("wait for free returned after %d waits, want 2 (not while the heir held the lock)", events.waits)
	}
}
