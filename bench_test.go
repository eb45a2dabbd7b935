package singleinstance_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/singleinstance/singleinstance"
	"github.com/singleinstance/singleinstance/internal/filelock"
	"github.com/singleinstance/singleinstance/internal/safefs"
)

// roleHandoff holds and releases the lock on command: it waits for the
// lock, prints "held", and on a line from stdin prints the wall-clock time
// in nanoseconds and releases; on the next line it starts over.
const roleHandoff = "handoff"

func runHandoffChild(dir, name string) int {
	opts := []singleinstance.Option{singleinstance.WithLockDir(dir), singleinstance.WithTimeout(-1),
		singleinstance.WithLiveStats(false)}
	buf := make([]byte, 1)
	for {
		inst, err := singleinstance.New(name, opts...)
		if err != nil {
			fmt.Println("error", err)
			return 3
		}
		fmt.Println("held")
		if n, _ := os.Stdin.Read(buf); n == 0 {
			inst.Release()
			return 0
		}
		t0 := time.Now().UnixNano()
		inst.Release()
		fmt.Println(t0)
		// Take the lock again only when told: the parent must win the
		// handoff being measured.
		if n, _ := os.Stdin.Read(buf); n == 0 {
			return 0
		}
	}
}

// BenchmarkNewRelease measures New and Release of a free lock, paired
// with newReleaseFloor: each iteration runs both, alternating which goes
// first, so that both see the same load (the disk's above all). It
// reports the mean of New+Release as ns/op, medians and 90th percentiles
// of both, and the ratios (floor-p50-ratio is the target's).
func BenchmarkNewRelease(b *testing.B) {
	dir := b.TempDir()
	opt := singleinstance.WithLockDir(dir)
	floor := newReleaseFloor(b, b.TempDir())
	var ours, floors []time.Duration
	var sum time.Duration
	for i := 0; b.Loop(); i++ {
		newRelease := func() {
			start := time.Now()
			inst, err := singleinstance.New("bench", opt)
			if err != nil {
				b.Fatal(err)
			}
			if err := inst.Release(); err != nil {
				b.Fatal(err)
			}
			d := time.Since(start)
			ours, sum = append(ours, d), sum+d
		}
		if i%2 == 0 {
			newRelease()
			floors = append(floors, floor())
		} else {
			floors = append(floors, floor())
			newRelease()
		}
	}
	q := func(ds []time.Duration, p float64) float64 {
		s := slices.Clone(ds)
		slices.Sort(s)
		return float64(s[int(p*float64(len(s)-1))])
	}
	b.ReportMetric(float64(sum)/float64(len(ours)), "ns/op")
	b.ReportMetric(q(ours, 0.5), "p50-ns")
	b.ReportMetric(q(ours, 0.9), "p90-ns")
	b.ReportMetric(q(floors, 0.5), "floor-p50-ns")
	b.ReportMetric(q(floors, 0.9), "floor-p90-ns")
	b.ReportMetric(q(ours, 0.5)/q(floors, 0.5), "floor-p50-ratio")
	b.ReportMetric(q(ours, 0.9)/q(floors, 0.9), "floor-p90-ratio")
}

// BenchmarkNewReleaseFloor runs newReleaseFloor alone.
func BenchmarkNewReleaseFloor(b *testing.B) {
	floor := newReleaseFloor(b, b.TempDir())
	for b.Loop() {
		floor()
	}
}

// newReleaseFloor returns a function that does, directly, only the file
// operations that New and Release cannot do without, in dir: open and lock
// the lock file, write the .info and .pid files atomically (create, write,
// rename), remove them, unlock. It returns how long that took. New and
// Release over this is what the library adds (its checks, the name token,
// the holder's description, the watcher).
func newReleaseFloor(b *testing.B, dir string) func() time.Duration {
	lock := filepath.Join(dir, "bench.lock")
	info, pid := filepath.Join(dir, "bench.info"), filepath.Join(dir, "bench.pid")
	description := make([]byte, 400) // about the size of a real .info
	return func() time.Duration {
		start := time.Now()
		f, _, err := safefs.OpenLockFile(lock, 0o600)
		if err != nil {
			b.Fatal(err)
		}
		if err := filelock.TryLock(f); err != nil {
			b.Fatal(err)
		}
		if _, err := safefs.WriteAtomic(info, description, 0o600); err != nil {
			b.Fatal(err)
		}
		if _, err := safefs.WriteAtomic(pid, []byte("12345\n"), 0o644); err != nil {
			b.Fatal(err)
		}
		os.Remove(info)
		os.Remove(pid)
		filelock.Unlock(f)
		f.Close()
		return time.Since(start)
	}
}

func BenchmarkCheckRunning(b *testing.B) {
	for _, held := range []bool{false, true} {
		b.Run(fmt.Sprintf("held=%v", held), func(b *testing.B) {
			dir := b.TempDir()
			opt := singleinstance.WithLockDir(dir)
			if held {
				inst, err := singleinstance.New("bench", opt)
				if err != nil {
					b.Fatal(err)
				}
				defer inst.Release()
			}
			for b.Loop() {
				running, err := singleinstance.CheckRunning("bench", opt)
				if err != nil || running != held {
					b.Fatalf("CheckRunning = %v, %v", running, err)
				}
			}
		})
	}
}

func BenchmarkStatus(b *testing.B) {
	for _, live := range []bool{false, true} {
		b.Run(fmt.Sprintf("live=%v", live), func(b *testing.B) {
			dir := b.TempDir()
			opt := singleinstance.WithLockDir(dir)
			inst, err := singleinstance.New("bench", opt)
			if err != nil {
				b.Fatal(err)
			}
			defer inst.Release()
			for b.Loop() {
				st, err := singleinstance.Status("bench", opt, singleinstance.WithLiveStats(live))
				if err != nil || !st.Running {
					b.Fatalf("Status = %+v, %v", st, err)
				}
			}
		})
	}
}

// BenchmarkHandoff measures the time from a holder in another process
// starting its release to a waiter in this process holding the lock.
func BenchmarkHandoff(b *testing.B) {
	dir := b.TempDir()
	opts := []singleinstance.Option{singleinstance.WithLockDir(dir), singleinstance.WithTimeout(-1),
		singleinstance.WithLiveStats(false)}
	c := startChild(b, roleHandoff, dir, "bench")
	var lat []time.Duration
	for b.Loop() {
		c.Expect("held")
		got := make(chan *singleinstance.Instance, 1)
		go func() {
			inst, err := singleinstance.New("bench", opts...)
			if err != nil {
				panic(err)
			}
			got <- inst
		}()
		if _, err := c.Stdin.Write([]byte{'\n'}); err != nil {
			b.Fatal(err)
		}
		inst := <-got
		t1 := time.Now().UnixNano()
		t0, err := strconv.ParseInt(strings.TrimSpace(c.Next()), 10, 64)
		if err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Duration(t1-t0))
		inst.Release()
		if _, err := c.Stdin.Write([]byte{'\n'}); err != nil {
			b.Fatal(err)
		}
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}
