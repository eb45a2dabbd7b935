//go:build linux

package proc

import (
	"context"
	"math"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/shirou/gopsutil/v4/process"
)

// TestLiveStatsMatchGopsutil compares the /proc reader with gopsutil, which
// computed these figures before, on live processes: this busy test process
// and a sleeping child.
func TestLiveStatsMatchGopsutil(t *testing.T) {
	sleep := exec.Command("sleep", "30")
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { sleep.Process.Kill(); sleep.Wait() }()
	// Burn some CPU so that the test process's percentage is not zero.
	for end := time.Now().Add(50 * time.Millisecond); time.Now().Before(end); {
	}
	self, err := Self()
	if err != nil {
		t.Fatal(err)
	}
	var child Identity
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		child, err = Lookup(sleep.Process.Pid)
		if err != nil {
			t.Fatal(err)
		}
		// Wait until the child has executed sleep and sleeps in it.
		p, _ := process.NewProcess(int32(child.PID))
		if name, _ := p.Name(); name == "sleep" {
			if st, _ := p.Status(); len(st) == 1 && st[0] == "sleep" {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("child did not settle in sleep")
		}
	}
	ctx := context.Background()
	for _, id := range []Identity{self, child} {
		p, err := process.NewProcess(int32(id.PID))
		if err != nil {
			t.Fatal(err)
		}
		// Resident memory moves while a process settles: gopsutil's
		// reading before ours and the one after bracket ours. The kernel
		// keeps it in per-CPU counters, which /proc/PID/stat and statm
		// (gopsutil's source) may sum at different moments: each CPU's
		// share can lag by a batch of pages, so a small process differs
		// by more than 10%.
		memBefore, err := p.MemoryInfo()
		if err != nil {
			t.Fatal(err)
		}
		got, err := LiveStats(ctx, id)
		if err != nil {
			t.Fatalf("LiveStats(%d): %v", id.PID, err)
		}
		st, err1 := p.Status()
		pct, err2 := p.CPUPercent()
		mem, err3 := p.MemoryInfo()
		ppid, err4 := p.Ppid()
		if err1 != nil || err2 != nil || err3 != nil || err4 != nil {
			t.Fatal(err1, err2, err3, err4)
		}
		if id == child && got.Status != strings.Join(st, ",") {
			t.Errorf("PID %d: Status %q, gopsutil %q", id.PID, got.Status, strings.Join(st, ","))
		}
		if id == self && got.Status != "running" && got.Status != "sleep" {
			t.Errorf("PID %d (self): Status %q", id.PID, got.Status)
		}
		// Both average the CPU time over the lifetime, but gopsutil takes
		// the boot time in whole seconds (btime of /proc/stat), so its
		// lifetime can be off by up to a second: a large error for a
		// young process. Compare the CPU time each percentage stands for,
		// and the lifetimes within that second.
		created, err := p.CreateTime()
		if err != nil {
			t.Fatal(err)
		}
		up, err := uptime()
		if err != nil {
			t.Fatal(err)
		}
		life := up - float64(id.StartID)/clockTicks
		gLife := time.Since(time.UnixMilli(created)).Seconds()
		if d := math.Abs(life - gLife); d > 1.05 {
			t.Errorf("PID %d: lifetime %.3fs, gopsutil %.3fs", id.PID, life, gLife)
		}
		cpu, gCPU := got.CPUPercent*life/100, pct*gLife/100
		if d := math.Abs(cpu - gCPU); d > 0.03+0.1*gCPU {
			t.Errorf("PID %d: CPU time %.3fs (%.2f%%), gopsutil %.3fs (%.2f%%)", id.PID, cpu, got.CPUPercent, gCPU, pct)
		}
		if id == self && got.CPUPercent <= 0 {
			t.Errorf("PID %d (self, busy): CPUPercent %.2f", id.PID, got.CPUPercent)
		}
		lo, hi := float64(min(memBefore.RSS, mem.RSS)), float64(max(memBefore.RSS, mem.RSS))
		slack := max(0.1*hi, float64(runtime.NumCPU()*64*os.Getpagesize()))
		if rss := float64(got.RSS); rss < lo-slack || rss > hi+slack {
			t.Errorf("PID %d: RSS %d, gopsutil %d before and %d after", id.PID, got.RSS, memBefore.RSS, mem.RSS)
		}
		if got.RSS == 0 {
			t.Errorf("PID %d: RSS 0", id.PID)
		}
		parent, err := ParentPID(ctx, id)
		if err != nil || parent != int(ppid) {
			t.Errorf("PID %d: ParentPID %d, %v; gopsutil %d", id.PID, parent, err, ppid)
		}
	}
}

// TestLiveStatsChecksIdentity: the figures of a reused PID (another start
// time) or an exited process are not reported.
func TestLiveStatsChecksIdentity(t *testing.T) {
	self, err := Self()
	if err != nil {
		t.Fatal(err)
	}
	other := self
	other.StartID++
	if _, err := LiveStats(context.Background(), other); err != ErrNotFound {
		t.Errorf("LiveStats of another start time: %v, want ErrNotFound", err)
	}
	if _, err := ParentPID(context.Background(), other); err != ErrNotFound {
		t.Errorf("ParentPID of another start time: %v, want ErrNotFound", err)
	}
	c := exec.Command("true")
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	id, err := Lookup(c.Process.Pid)
	c.Wait()
	if err == nil {
		if _, err := LiveStats(context.Background(), id); err != ErrNotFound {
			t.Errorf("LiveStats of an exited process: %v, want ErrNotFound", err)
		}
	}
	notHere := self
	notHere.BootID = "another boot"
	if _, err := LiveStats(context.Background(), notHere); err != ErrNotVisible {
		t.Errorf("LiveStats of another boot: %v, want ErrNotVisible", err)
	}
}
