//go:build linux

package main

import (
	"bufio"
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

// The benchmarks in this file measure whole processes of the real CLI, the
// way a shell script or a cron job pays for them, next to util-linux
// flock(1) doing the same job in the same run. Each iteration runs both,
// in alternating order, so that both see the same machine load. They build
// the CLI binary (the test binary is not representative: it carries the
// testing package and testscript), so they belong to benchmarks only. The
// file is Linux-only: the baseline is util-linux's flock(1), and resident
// memory is read from /proc.

// buildCLI builds the singleinstance command into a temporary directory of
// b, once per benchmark function, and returns its path.
func buildCLI(b *testing.B) string {
	b.Helper()
	exe := filepath.Join(b.TempDir(), "singleinstance")
	start := time.Now()
	out, err := exec.CommandContext(b.Context(), "go", "build", "-o", exe, ".").CombinedOutput()
	if err != nil {
		b.Fatalf("go build -o %s .: %v\n%s", exe, err, out)
	}
	b.Logf("built %s in %v", exe, time.Since(start).Round(time.Millisecond))
	return exe
}

// flockPath returns the path of flock(1), or skips b if there is none.
func flockPath(b *testing.B) string {
	b.Helper()
	path, err := exec.LookPath("flock")
	if err != nil {
		b.Skipf("no flock(1) to compare with (util-linux): %v", err)
	}
	return path
}

// cost is what one run of a command cost: wall time from start to exit,
// and CPU time (user plus system) of the process and the children it
// waited for.
type cost struct{ wall, cpu time.Duration }

// timedRun runs cmd, failing b unless it exits with want.
func timedRun(b *testing.B, cmd *exec.Cmd, want int) cost {
	b.Helper()
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		b.Fatalf("%v: %v", cmd.Args, err)
	}
	if code != want {
		b.Fatalf("%v exited %d, want %d", cmd.Args, code, want)
	}
	return cost{wall, cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()}
}

// pair runs ours and theirs once per iteration, alternating which goes
// first. It reports our mean wall time as ns/op, flock(1)'s as
// flock-ns/op, and their ratio; the ratio of the median wall times
// (steadier when other work delays a few runs); and the mean CPU time of
// each with its ratio, which waiting for a busy CPU does not inflate.
func pair(b *testing.B, ours, theirs func() cost) {
	b.Helper()
	var o, t []cost // ours, theirs
	for i := 0; b.Loop(); i++ {
		if i%2 == 0 {
			o = append(o, ours())
			t = append(t, theirs())
		} else {
			t = append(t, theirs())
			o = append(o, ours())
		}
	}
	mean := func(cs []cost, f func(cost) time.Duration) float64 {
		var sum time.Duration
		for _, c := range cs {
			sum += f(c)
		}
		return float64(sum) / float64(len(cs))
	}
	median := func(cs []cost) float64 {
		walls := make([]time.Duration, len(cs))
		for i, c := range cs {
			walls[i] = c.wall
		}
		slices.Sort(walls)
		return float64(walls[len(walls)/2])
	}
	wall := func(c cost) time.Duration { return c.wall }
	cpu := func(c cost) time.Duration { return c.cpu }
	b.ReportMetric(mean(o, wall), "ns/op")
	b.ReportMetric(mean(t, wall), "flock-ns/op")
	b.ReportMetric(mean(o, wall)/mean(t, wall), "ratio")
	b.ReportMetric(median(o)/median(t), "p50-ratio")
	b.ReportMetric(mean(o, cpu), "cpu-ns/op")
	b.ReportMetric(mean(t, cpu), "flock-cpu-ns/op")
	b.ReportMetric(mean(o, cpu)/mean(t, cpu), "cpu-ratio")
}

// BenchmarkCLICheck measures "singleinstance check NAME" against
// "flock -n FILE true". free: nobody holds either lock (check exits 1,
// flock runs true and exits 0). held: this process holds NAME through
// singleinstance.New and FILE through flock(2) (check exits 0, flock exits
// 1 without running true): each tool's answer to "is it taken?".
func BenchmarkCLICheck(b *testing.B) {
	flock := flockPath(b)
	exe := buildCLI(b)
	for _, held := range []bool{false, true} {
		b.Run(fmt.Sprintf("held=%v", held), func(b *testing.B) {
			dir := b.TempDir()
			file := filepath.Join(dir, "flock.lock")
			f, err := os.OpenFile(file, os.O_RDWR|os.O_CREATE, 0o600)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			ourCode, flockCode := 1, 0 // check: 1 not running
			if held {
				inst, err := singleinstance.New("bench", singleinstance.WithLockDir(dir))
				if err != nil {
					b.Fatal(err)
				}
				defer inst.Release()
				if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
					b.Fatal(err)
				}
				ourCode, flockCode = 0, 1 // check: 0 running
			}
			pair(b,
				func() cost {
					return timedRun(b, exec.Command(exe, "--lock-dir", dir, "check", "bench"), ourCode)
				},
				func() cost {
					return timedRun(b, exec.Command(flock, "-n", file, "true"), flockCode)
				})
		})
	}
}

// BenchmarkCLIRunTrue measures "singleinstance run NAME -- true" against
// "flock -n FILE true": take a free lock, run a command that does nothing,
// release.
func BenchmarkCLIRunTrue(b *testing.B) {
	flock := flockPath(b)
	exe := buildCLI(b)
	dir := b.TempDir()
	file := filepath.Join(dir, "flock.lock")
	pair(b,
		func() cost {
			return timedRun(b, exec.Command(exe, "--lock-dir", dir, "run", "bench", "--", "true"), 0)
		},
		func() cost {
			return timedRun(b, exec.Command(flock, "-n", file, "true"), 0)
		})
}

// BenchmarkCLIRunRSS measures the resident memory of the "run" wrapper
// while it guards "sleep 60": it starts the wrapper, waits until the lock
// is held and its record names the sleep (the wrapper has started its
// command and settled), reads VmRSS from /proc/PID/status, and stops it
// with SIGTERM, which the wrapper forwards to the sleep. It reports the
// median as rss-MiB and the largest as max-rss-MiB; ns/op is the time from
// starting the wrapper to its command running.
func BenchmarkCLIRunRSS(b *testing.B) {
	exe := buildCLI(b)
	dir := b.TempDir()
	opts := []singleinstance.Option{singleinstance.WithLockDir(dir), singleinstance.WithLiveStats(false)}
	var rss []int
	var ready time.Duration
	for b.Loop() {
		cmd := exec.Command(exe, "--lock-dir", dir, "run", "bench", "--", "sleep", "60")
		// Its own process group, so that a failure can kill the sleep too.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		start := time.Now()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		pid := cmd.Process.Pid
		stop := func() {
			syscall.Kill(-pid, syscall.SIGKILL)
			cmd.Wait()
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			st, err := singleinstance.Status("bench", opts...)
			if err != nil {
				stop()
				b.Fatalf("Status: %v", err)
			}
			if st.Running && st.Holder != nil && st.Holder.OwnerPID == pid {
				break
			}
			if time.Now().After(deadline) {
				stop()
				b.Fatalf("run did not hold the lock and start its command within %v", 30*time.Second)
			}
			time.Sleep(time.Millisecond)
		}
		ready += time.Since(start)
		kib, err := vmRSS(pid)
		if err != nil {
			stop()
			b.Fatal(err)
		}
		rss = append(rss, kib)
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			stop()
			b.Fatal(err)
		}
		// SIGTERM forwarded to sleep: sleep dies of it and run exits 128+15.
		if err := cmd.Wait(); exitCode(err) != 128+int(syscall.SIGTERM) {
			syscall.Kill(-pid, syscall.SIGKILL)
			b.Fatalf("run exited with %v after SIGTERM, want code %d", err, 128+int(syscall.SIGTERM))
		}
	}
	slices.Sort(rss)
	b.ReportMetric(float64(ready)/float64(len(rss)), "ns/op")
	b.ReportMetric(float64(rss[len(rss)/2])/1024, "rss-MiB")
	b.ReportMetric(float64(rss[len(rss)-1])/1024, "max-rss-MiB")
}

// vmRSS returns the VmRSS of process pid in KiB.
func vmRSS(pid int) (int, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			return strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}
