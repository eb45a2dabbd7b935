//go:build linux

package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
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

// buildFlags build the commands measured the way scripts/release builds
// the released ones: static (CGO_ENABLED=0), -trimpath, stripped.
var buildFlags = []string{"build", "-trimpath", "-ldflags=-s -w"}

// goBuild builds the main package in dir into exe with buildFlags.
func goBuild(b *testing.B, dir, exe string) {
	b.Helper()
	cmd := exec.CommandContext(b.Context(), "go", append(buildFlags, "-o", exe, ".")...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("go build -o %s . in %s: %v\n%s", exe, dir, err, out)
	}
}

// baseCLI returns $SINGLEINSTANCE_BENCH_BASE, another build of the
// singleinstance command (an earlier commit's, say) that the CLI
// benchmarks then also measure, as contender "base", or "" if it is unset.
func baseCLI() string { return os.Getenv("SINGLEINSTANCE_BENCH_BASE") }

// withBase appends contender "base", made by mk from baseCLI's command, to
// cs if there is one.
func withBase(cs []contender, mk func(exe string) func() cost) []contender {
	if exe := baseCLI(); exe != "" {
		cs = append(cs, contender{"base", mk(exe)})
	}
	return cs
}

// buildCLI builds the singleinstance command into a temporary directory of
// b, once per benchmark function, and returns its path.
func buildCLI(b *testing.B) string {
	b.Helper()
	exe := filepath.Join(b.TempDir(), "singleinstance")
	start := time.Now()
	goBuild(b, ".", exe)
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

// contender is a command measured next to ours: name prefixes its metrics.
type contender struct {
	name string
	run  func() cost
}

// compare runs ours and each contender once per iteration, rotating which
// goes first, so that all see the same machine load and the same number
// of runs. It reports our mean wall time as ns/op and our median and 90th
// percentile as p50-ns and p90-ns; for each contender X, its own median
// and p90 (X-p50-ns, X-p90-ns) and the ratios of ours to them
// (X-p50-ratio, X-p90-ratio, steadier than means when other work delays a
// few runs), the ratio of the mean wall times (X-ratio) and, when the runs
// measured CPU time (user plus system, which waiting for a busy CPU does
// not inflate), the ratio of the mean CPU times (X-cpu-ratio).
func compare(b *testing.B, ours func() cost, others ...contender) {
	b.Helper()
	all := append([]contender{{"", ours}}, others...)
	costs := make([][]cost, len(all))
	for i := 0; b.Loop(); i++ {
		for j := range all {
			k := (i + j) % len(all)
			costs[k] = append(costs[k], all[k].run())
		}
	}
	mean := func(cs []cost, f func(cost) time.Duration) float64 {
		var sum time.Duration
		for _, c := range cs {
			sum += f(c)
		}
		return float64(sum) / float64(len(cs))
	}
	quantile := func(cs []cost, q float64) float64 {
		walls := make([]time.Duration, len(cs))
		for i, c := range cs {
			walls[i] = c.wall
		}
		slices.Sort(walls)
		return float64(walls[int(q*float64(len(walls)-1))])
	}
	wall := func(c cost) time.Duration { return c.wall }
	cpu := func(c cost) time.Duration { return c.cpu }
	o := costs[0]
	b.ReportMetric(mean(o, wall), "ns/op")
	b.ReportMetric(quantile(o, 0.5), "p50-ns")
	b.ReportMetric(quantile(o, 0.9), "p90-ns")
	if c := mean(o, cpu); c > 0 {
		b.ReportMetric(c, "cpu-ns/op")
	}
	for j, x := range all[1:] {
		t := costs[j+1]
		b.ReportMetric(quantile(t, 0.5), x.name+"-p50-ns")
		b.ReportMetric(quantile(t, 0.9), x.name+"-p90-ns")
		b.ReportMetric(mean(o, wall)/mean(t, wall), x.name+"-ratio")
		b.ReportMetric(quantile(o, 0.5)/quantile(t, 0.5), x.name+"-p50-ratio")
		b.ReportMetric(quantile(o, 0.9)/quantile(t, 0.9), x.name+"-p90-ratio")
		if c := mean(t, cpu); c > 0 {
			b.ReportMetric(c, x.name+"-cpu-ns/op")
			b.ReportMetric(mean(o, cpu)/c, x.name+"-cpu-ratio")
		}
	}
}

// buildEmpty builds "package main; func main() {}" the way buildCLI builds
// the CLI, the floor of any Go command's start-up, and returns its path.
func buildEmpty(b *testing.B) string {
	return buildProgram(b, "empty", "package main\n\nfunc main() {}\n")
}

// buildEmptyOS builds an empty Go program that imports package os (to
// exit with a code, as every command does) the way buildCLI builds the
// CLI, and returns its path: the floor of a Go command that uses os.
func buildEmptyOS(b *testing.B) string {
	return buildProgram(b, "emptyos", "package main\n\nimport \"os\"\n\nfunc main() { os.Exit(0) }\n")
}

// buildProgram builds the one-file main package source as module name the
// way buildCLI builds the CLI, and returns its path.
func buildProgram(b *testing.B, name, source string) string {
	b.Helper()
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module "+name+"\n\ngo 1.26\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(source), 0o644); err != nil {
		b.Fatal(err)
	}
	exe := filepath.Join(dir, name)
	goBuild(b, dir, exe)
	return exe
}

// goFlockSource is flock(1) reduced to what a Go program must do to run a
// command under a lock: open the file, flock(2) it (blocking, or with -n
// not), start the command with os/exec, wait for it. Built like the CLI, it
// is the floor of any Go wrapper (runtime start-up, os/exec's start of a
// child, exit), measured as contender "goflock" next to flock(1).
//
// With -s it also catches, before it starts the command, the signals a
// wrapper that forwards them must catch (run's: SIGINT, SIGTERM, SIGHUP,
// SIGQUIT, SIGUSR1, SIGUSR2, and SIGPIPE so that writing to a closed stderr
// does not end it), and forwards them to the command: contender
// "goflocksig", the floor of a Go wrapper that passes signals on. The Go
// runtime enables each caught signal through a hand-off with a thread of
// its own, which costs about a tenth of a millisecond per signal here.
const goFlockSource = `package main

import (
	"os"
	"os/exec"
	"os/signal"
	"syscall"
)

func main() {
	args := os.Args[1:]
	forward := args[0] == "-s"
	if forward {
		args = args[1:]
	}
	how := syscall.LOCK_EX
	if args[0] == "-n" {
		how |= syscall.LOCK_NB
		args = args[1:]
	}
	f, err := os.OpenFile(args[0], os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		os.Exit(66)
	}
	if err := syscall.Flock(int(f.Fd()), how); err != nil {
		os.Exit(1)
	}
	c := exec.Command(args[1], args[2:]...)
	c.Stdin, c.Stdout, c.Stderr = os.Stdin, os.Stdout, os.Stderr
	sigs := make(chan os.Signal, 8)
	if forward {
		signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT,
			syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGPIPE)
	}
	if err := c.Start(); err != nil {
		os.Exit(1)
	}
	go func() {
		for sig := range sigs {
			if sig != syscall.SIGPIPE {
				c.Process.Signal(sig)
			}
		}
	}()
	if err := c.Wait(); err != nil {
		os.Exit(1)
	}
}
`

// buildGoFlock builds goFlockSource the way buildCLI builds the CLI and
// returns its path.
func buildGoFlock(b *testing.B) string { return buildProgram(b, "goflock", goFlockSource) }

// buildLinked builds testdata/linked, a program that exits at once but
// links all the CLI links and initialises it (see its doc comment), the
// way buildCLI builds the CLI, and returns its path.
func buildLinked(b *testing.B) string {
	b.Helper()
	exe := filepath.Join(b.TempDir(), "linked")
	goBuild(b, filepath.Join("testdata", "linked"), exe)
	return exe
}

// BenchmarkCLICheck measures "singleinstance check NAME" against
// "flock -n FILE true". free: nobody holds either lock (check exits 1,
// flock runs true and exits 0). held: this process holds NAME through
// singleinstance.New and FILE through flock(2) (check exits 0, flock exits
// 1 without running true): each tool's answer to "is it taken?".
//
// It also runs the empty Go program of buildEmpty, which exits 0: the
// floor of starting and ending any Go command (gomain-* metrics); the
// empty program that imports os (goos-*), which any command needs for its
// arguments and exit code; and testdata/linked (golinked-*), which exits
// 0 too but links all the CLI links and initialises it: the
// singleinstance binary's own start and end, which is what check pays
// above gomain before it does anything.
func BenchmarkCLICheck(b *testing.B) {
	flock := flockPath(b)
	exe := buildCLI(b)
	empty := buildEmpty(b)
	emptyOS := buildEmptyOS(b)
	linked := buildLinked(b)
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
			check := func(exe string) func() cost {
				return func() cost {
					return timedRun(b, exec.Command(exe, "--lock-dir", dir, "check", "bench"), ourCode)
				}
			}
			compare(b, check(exe), withBase([]contender{
				{"flock", func() cost {
					return timedRun(b, exec.Command(flock, "-n", file, "true"), flockCode)
				}},
				{"gomain", func() cost {
					return timedRun(b, exec.Command(empty), 0)
				}},
				{"goos", func() cost {
					return timedRun(b, exec.Command(emptyOS), 0)
				}},
				{"golinked", func() cost {
					return timedRun(b, exec.Command(linked), 0)
				}}}, check)...)
		})
	}
}

// BenchmarkCLIRunTrue measures "singleinstance run NAME -- true" against
// "flock -n FILE true": take a free lock, run a command that does nothing,
// release. Contender goflock is the Go floor, goflocksig the floor of a Go
// wrapper that forwards signals, as run does (see goFlockSource).
func BenchmarkCLIRunTrue(b *testing.B) {
	flock := flockPath(b)
	exe := buildCLI(b)
	goflock := buildGoFlock(b)
	dir := b.TempDir()
	file := filepath.Join(dir, "flock.lock")
	run := func(exe string) func() cost {
		return func() cost {
			return timedRun(b, exec.Command(exe, "--lock-dir", dir, "run", "bench", "--", "true"), 0)
		}
	}
	compare(b, run(exe), withBase([]contender{{"flock", func() cost {
		return timedRun(b, exec.Command(flock, "-n", file, "true"), 0)
	}}, {"goflock", func() cost {
		return timedRun(b, exec.Command(goflock, "-n", file, "true"), 0)
	}}, {"goflocksig", func() cost {
		return timedRun(b, exec.Command(goflock, "-s", "-n", file, "true"), 0)
	}}}, run)...)
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

// waiter is a command waiting for a lock to run "echo x": its output is the
// sign that it holds the lock and started its command.
type waiter struct {
	cmd *exec.Cmd
	out io.ReadCloser
}

// startWaiter starts cmd with its stdout on a pipe and returns once ready
// reports that it waits for the lock.
func startWaiter(b *testing.B, cmd *exec.Cmd, ready func(*exec.Cmd) error) *waiter {
	b.Helper()
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	if err := ready(cmd); err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		b.Fatalf("%v: %v", cmd.Args, err)
	}
	// Let it settle in its wait (the same for every command measured).
	time.Sleep(2 * time.Millisecond)
	return &waiter{cmd, out}
}

// measure calls free, which frees the lock, and returns the time from then
// to the waiter's command writing its output; it then waits for the waiter
// to exit 0.
func (w *waiter) measure(b *testing.B, free func()) cost {
	b.Helper()
	buf := make([]byte, 1)
	start := time.Now()
	free()
	if _, err := io.ReadFull(w.out, buf); err != nil {
		b.Fatalf("%v: reading its command's output: %v", w.cmd.Args, err)
	}
	wall := time.Since(start)
	io.Copy(io.Discard, w.out)
	if err := w.cmd.Wait(); err != nil {
		b.Fatalf("%v: %v", w.cmd.Args, err)
	}
	return cost{wall: wall}
}

// saysWaiting is ready for "singleinstance --verbose run --wait": it reads
// its stderr until the line that says it waits.
func saysWaiting(b *testing.B, cmd *exec.Cmd) func(*exec.Cmd) error {
	r, err := cmd.StderrPipe()
	if err != nil {
		b.Fatal(err)
	}
	return func(*exec.Cmd) error {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "waiting for") {
				go io.Copy(io.Discard, r)
				return nil
			}
		}
		return fmt.Errorf("exited before waiting (%v)", sc.Err())
	}
}

// blockedInFlock is ready for "flock -w" (and the Go floor): a thread of
// the process sleeps in flock(2). In a Go program that need not be the
// main thread, so every thread is looked at.
func blockedInFlock(cmd *exec.Cmd) error {
	want := strconv.Itoa(syscall.SYS_FLOCK) + " "
	tasks := fmt.Sprintf("/proc/%d/task", cmd.Process.Pid)
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Microsecond) {
		ids, err := os.ReadDir(tasks)
		if err != nil {
			return err
		}
		for _, id := range ids {
			b, err := os.ReadFile(tasks + "/" + id.Name() + "/syscall")
			if err == nil && strings.HasPrefix(string(b), want) {
				return nil
			}
		}
	}
	return errors.New("not blocked in flock(2) after 30s")
}

// BenchmarkCLIHandoff measures the handoff to a waiting
// "singleinstance run --wait NAME -- echo x" against a waiting
// "flock -w 60 FILE echo x": from this process releasing the lock (Release
// of the singleinstance.Instance, or LOCK_UN of flock(2)) to the waiting
// command's output. Both wake when the kernel frees the lock. Contender
// goflock is the Go floor (see goFlockSource), waiting like flock -w.
func BenchmarkCLIHandoff(b *testing.B) {
	flock := flockPath(b)
	exe := buildCLI(b)
	goflock := buildGoFlock(b)
	echo, err := exec.LookPath("echo")
	if err != nil {
		b.Skip(err)
	}
	dir := b.TempDir()
	file := filepath.Join(dir, "flock.lock")
	f, err := os.OpenFile(file, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	opt := singleinstance.WithLockDir(dir)
	handoff := func(exe string) func() cost {
		return func() cost {
			inst, err := singleinstance.New("bench", opt)
			if err != nil {
				b.Fatal(err)
			}
			cmd := exec.Command(exe, "--verbose", "--lock-dir", dir, "run", "--wait", "60s", "bench", "--", echo, "x")
			w := startWaiter(b, cmd, saysWaiting(b, cmd))
			return w.measure(b, func() { inst.Release() })
		}
	}
	// flockHandoff measures a waiter (flock -w, or the Go floor) taking
	// over from this process's flock(2).
	flockHandoff := func(waiter ...string) func() cost {
		return func() cost {
			if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
				b.Fatal(err)
			}
			w := startWaiter(b, exec.Command(waiter[0], append(waiter[1:], file, echo, "x")...), blockedInFlock)
			return w.measure(b, func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN) })
		}
	}
	compare(b, handoff(exe), withBase([]contender{
		{"flock", flockHandoff(flock, "-w", "60")},
		{"goflock", flockHandoff(goflock)},
	}, handoff)...)
}

// BenchmarkCLIRecovery measures the takeover after a holder is SIGKILLed:
// "singleinstance run NAME -- sleep 60" against "flock -o FILE sleep 60"
// (whose sleep does not keep the lock), each with a waiter as in
// BenchmarkCLIHandoff, from the SIGKILL of the holder to the waiting
// command's output. Our holder's sleep holds the lock too (it inherits it)
// and dies of its parent-death signal. Contender goflock waits as the Go
// floor does (see goFlockSource).
func BenchmarkCLIRecovery(b *testing.B) {
	flock := flockPath(b)
	exe := buildCLI(b)
	goflock := buildGoFlock(b)
	echo, err := exec.LookPath("echo")
	if err != nil {
		b.Skip(err)
	}
	dir := b.TempDir()
	file := filepath.Join(dir, "flock.lock")
	f, err := os.OpenFile(file, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	opts := []singleinstance.Option{singleinstance.WithLockDir(dir), singleinstance.WithLiveStats(false)}
	// holder starts cmd in its own process group and returns it once held
	// reports the lock taken.
	holder := func(cmd *exec.Cmd, held func(pid int) bool) *exec.Cmd {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		for deadline := time.Now().Add(30 * time.Second); !held(cmd.Process.Pid); time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
				cmd.Wait()
				b.Fatalf("%v did not take the lock within 30s", cmd.Args)
			}
		}
		return cmd
	}
	kill := func(h *exec.Cmd) func() {
		return func() { h.Process.Signal(syscall.SIGKILL) }
	}
	recovery := func(exe string) func() cost {
		return func() cost {
			h := holder(exec.Command(exe, "--lock-dir", dir, "run", "bench", "--", "sleep", "60"), func(pid int) bool {
				st, err := singleinstance.Status("bench", opts...)
				return err == nil && st.Running && st.Holder != nil && st.Holder.OwnerPID == pid
			})
			defer syscall.Kill(-h.Process.Pid, syscall.SIGKILL)
			defer h.Wait()
			cmd := exec.Command(exe, "--verbose", "--lock-dir", dir, "run", "--wait", "60s", "bench", "--", echo, "x")
			w := startWaiter(b, cmd, saysWaiting(b, cmd))
			return w.measure(b, kill(h))
		}
	}
	// flockRecovery measures a waiting waiter (flock -w, or the Go floor)
	// taking over from a SIGKILLed "flock -o FILE sleep 60".
	flockRecovery := func(waiter ...string) func() cost {
		return func() cost {
			h := holder(exec.Command(flock, "-o", file, "sleep", "60"), func(int) bool {
				if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
					return true
				}
				syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
				return false
			})
			defer syscall.Kill(-h.Process.Pid, syscall.SIGKILL)
			defer h.Wait()
			w := startWaiter(b, exec.Command(waiter[0], append(waiter[1:], file, echo, "x")...), blockedInFlock)
			return w.measure(b, kill(h))
		}
	}
	compare(b, recovery(exe), withBase([]contender{
		{"flock", flockRecovery(flock, "-w", "60")},
		{"goflock", flockRecovery(goflock)},
	}, recovery)...)
}
