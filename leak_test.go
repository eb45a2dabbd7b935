package singleinstance_test

import (
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/singleinstance/singleinstance"
)

// soakEnv turns on the long soak runs: SINGLEINSTANCE_SOAK=1 go test ...
// CI runs them in a step of their own.
const soakEnv = "SINGLEINSTANCE_SOAK"

// soak reports whether the long soak runs were asked for.
func soak() bool { return os.Getenv(soakEnv) == "1" }

// leakCycles is how many New+Release cycles TestNoLeaksOver100kCycles
// runs: 100,000 with SINGLEINSTANCE_SOAK=1, else 3,000 (1,000 with -short).
// The short run still catches a leak of one descriptor or goroutine per
// cycle (3,000 of them), or of more than about 1.4 KiB of heap per cycle.
func leakCycles() int {
	switch {
	case soak():
		return 100_000
	case testing.Short():
		return 1_000
	}
	return 3_000
}

// leakSettle bounds the wait for the watchers that Release closes in the
// background (an inotify descriptor is closed by a goroutine of its own) to
// finish after the last cycle.
const leakSettle = 30 * time.Second

// leakHeapSlack is how much HeapInuse may grow across all the cycles.
const leakHeapSlack = 4 << 20

// TestNoLeaksOver100kCycles takes and releases one lock many times in one
// process and checks that open descriptors, goroutines and the heap come
// back to where they started: a leak of one descriptor or one goroutine per
// cycle would show as thousands here.
//
// The file system sets the pace: each cycle creates, renames and removes
// the .pid and .info files. On the 2-core development VM, with /tmp on
// ext4, 100,000 cycles took 59s without -race and 66s with it (about
// 0.6ms a cycle either way, almost all of it in system calls): too long
// for every test run, so the full count runs only with
// SINGLEINSTANCE_SOAK=1, and the default 3,000 cycles take about 2s.
func TestNoLeaksOver100kCycles(t *testing.T) {
	cycles := leakCycles()
	opts := []singleinstance.Option{singleinstance.WithLockDir(t.TempDir()), singleinstance.WithLiveStats(false)}
	cycle := func(i int) {
		inst, err := singleinstance.New("leak", opts...)
		if err != nil {
			t.Fatalf("cycle %d: New: %v", i, err)
		}
		if err := inst.Release(); err != nil {
			t.Fatalf("cycle %d: Release: %v", i, err)
		}
	}

	// Warm up, so that what the runtime and the package set up once (the
	// poller, cached process identity) is part of the baseline, and let
	// the warm-up's background closes finish: the package keeps no
	// goroutine of its own between cycles.
	before := runtime.NumGoroutine()
	for i := range 10 {
		cycle(i)
	}
	goroutines, fds := settle(t, before, -1)
	heap := heapInuse()
	t.Logf("baseline: %d goroutines, %d descriptors (-1: not counted here), HeapInuse %d KiB", goroutines, fds, heap>>10)

	start := time.Now()
	for i := range cycles {
		cycle(i)
	}
	t.Logf("%d New+Release cycles in %v (%v each)", cycles, time.Since(start).Round(time.Millisecond),
		time.Since(start)/time.Duration(cycles))

	g, f := settle(t, goroutines, fds)
	after := heapInuse()
	t.Logf("after: %d goroutines, %d descriptors, HeapInuse %d KiB", g, f, after>>10)
	if g > goroutines {
		t.Errorf("goroutines: %d after %d cycles, %d before", g, cycles, goroutines)
	}
	if f > fds {
		t.Errorf("open descriptors: %d after %d cycles, %d before", f, cycles, fds)
	}
	if after > heap+leakHeapSlack {
		t.Errorf("HeapInuse grew by %d KiB over %d cycles (limit %d KiB)", (after-heap)>>10, cycles, leakHeapSlack>>10)
	}
}

// settle waits until the goroutine and descriptor counts are at most
// wantG and wantFDs (a negative value puts no bound on that count), and
// returns them. It gives up after leakSettle and
// returns the counts it last saw.
func settle(t *testing.T, wantG, wantFDs int) (goroutines, fds int) {
	t.Helper()
	deadline := time.Now().Add(leakSettle)
	for {
		goroutines, fds = runtime.NumGoroutine(), openFDs(t)
		if (wantG < 0 || goroutines <= wantG) && (wantFDs < 0 || fds <= wantFDs) {
			return goroutines, fds
		}
		if time.Now().After(deadline) {
			t.Logf("still %d goroutines and %d descriptors after waiting %v", goroutines, fds, leakSettle)
			return goroutines, fds
		}
		time.Sleep(time.Millisecond)
	}
}

// openFDs counts this process's open descriptors, or returns -1 where
// /proc/self/fd does not list them.
func openFDs(t *testing.T) int {
	t.Helper()
	if runtime.GOOS != "linux" {
		return -1
	}
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatalf("counting open descriptors: %v", err)
	}
	return len(entries)
}

// heapInuse returns HeapInuse after a full collection.
func heapInuse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}
