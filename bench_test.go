package singleinstance_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/singleinstance/singleinstance"
	"github.com/singleinstance/singleinstance/internal/filelock"
	"github.com/singleinstance/singleinstance/internal/nametoken"
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
// with newReleaseFloor and newReleaseChecksFloor: each iteration runs all
// three, rotating which goes first, so that all see the same load (the
// disk's above all). It reports the mean of New+Release as ns/op, medians
// and 90th percentiles of each, and the ratios (floor-p50-ratio is the
// target's; checks-p50-ratio is New+Release against the same system calls
// made directly).
func BenchmarkNewRelease(b *testing.B) {
	dir := b.TempDir()
	opt := singleinstance.WithLockDir(dir)
	floor := newReleaseFloor(b, b.TempDir())
	checks := newReleaseChecksFloor(b, b.TempDir())
	var ours, floors, checked []time.Duration
	var sum time.Duration
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
	steps := []func(){
		newRelease,
		func() { floors = append(floors, floor()) },
		func() { checked = append(checked, checks()) },
	}
	for i := 0; b.Loop(); i++ {
		for j := range steps {
			steps[(i+j)%len(steps)]()
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
	b.ReportMetric(q(checked, 0.5), "checks-p50-ns")
	b.ReportMetric(q(checked, 0.5)/q(floors, 0.5), "checks-floor-p50-ratio")
	b.ReportMetric(q(ours, 0.5)/q(checked, 0.5), "checks-p50-ratio")
}

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

// newReleaseChecksFloor is newReleaseFloor plus, made directly, every
// system call of the checks that New and Release keep (no safety for
// speed): what New+Release would cost if the library were nothing but
// these calls. In order:
//   - the description: the working directory and the host name;
//   - the lock directory: its mode (for the .pid file's) and its file
//     system (the network warning);
//   - opening the lock file, and its record, read before locking (whether
//     a holder of a deleted lock file must be searched for);
//   - once locked: the lock path still names the file; the .info file
//     (an orphaned holder, and the fencing token's floor); the name token
//     bound, and the name's other tokens asked about through it; the
//     record read and written (the fencing token, "held");
//   - the .info and .pid files written, then the lock path looked at
//     again (replaced meanwhile?);
//   - on release: each file removed only if it is still the one written,
//     the record marked free, the token closed, the lock let go.
func newReleaseChecksFloor(b *testing.B, dir string) func() time.Duration {
	lock := filepath.Join(dir, "bench.lock")
	info, pid := filepath.Join(dir, "bench.info"), filepath.Join(dir, "bench.pid")
	key := nametoken.Key(os.Geteuid(), dir, "bench-checks-floor")
	others := make([]string, 0, nametoken.Slots-1)
	for slot := 1; slot < nametoken.Slots; slot++ {
		others = append(others, nametoken.SlotKey(key, slot))
	}
	description := make([]byte, 400) // about the size of a real .info
	record := make([]byte, 102)      // the lock file's record
	return func() time.Duration {
		start := time.Now()
		syscall.Getwd()
		os.Hostname()
		os.Stat(dir)
		safefs.NetworkFS(dir)
		f, _, err := safefs.OpenLockFile(lock, 0o600)
		if err != nil {
			b.Fatal(err)
		}
		f.ReadAt(record, 0)
		if err := filelock.TryLock(f); err != nil {
			b.Fatal(err)
		}
		os.Lstat(lock)
		safefs.ReadBounded(info, 64<<10)
		tok, err := nametoken.Claim(key)
		if err != nil && !errors.Is(err, errors.ErrUnsupported) {
			b.Fatal(err)
		}
		if tok != nil {
			nametoken.BoundEach(tok, others)
		}
		f.ReadAt(record, 0)
		f.WriteAt(record, 0)
		infoFile, err := safefs.WriteAtomic(info, description, 0o600)
		if err != nil {
			b.Fatal(err)
		}
		pidFile, err := safefs.WriteAtomic(pid, []byte("12345\n"), 0o644)
		if err != nil {
			b.Fatal(err)
		}
		os.Lstat(lock)
		safefs.RemoveIfSame(info, infoFile)
		safefs.RemoveIfSame(pid, pidFile)
		f.WriteAt(record, 0)
		if tok != nil {
			tok.Close()
		}
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
