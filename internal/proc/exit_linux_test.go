package proc_test

import (
	"os/exec"
	"testing"
	"time"

	"github.com/singleinstance/singleinstance/internal/proc"
)

// TestWatchExit: the channel stays open while the processes run, and is
// closed once one of them exits; stop ends the watch of the others.
func TestWatchExit(t *testing.T) {
	long := exec.Command("sleep", "300")
	short := exec.Command("sleep", "300")
	for _, c := range []*exec.Cmd{long, short} {
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Process.Kill(); c.Wait() })
	}
	exited, stop := proc.WatchExit([]int{long.Process.Pid, short.Process.Pid})
	defer stop()
	select {
	case <-exited:
		t.Fatal("closed while both processes run")
	default:
	}
	short.Process.Kill()
	short.Wait()
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		t.Fatal("not closed within 30s of an exit")
	}
	// A process that is gone already counts at once.
	gone, stopGone := proc.WatchExit([]int{short.Process.Pid})
	defer stopGone()
	select {
	case <-gone:
	case <-time.After(30 * time.Second):
		t.Fatal("not closed for a process that is gone")
	}
}
