// Demo shows what singleinstance does, with real processes, in about a
// second. It re-runs its own executable as "bot" processes, each guarded by
// the lock "demo_bot" in a fresh temporary lock directory, and checks every
// step:
//
//  1. a bot starts and takes the lock;
//  2. a second bot is refused and prints who holds the lock;
//  3. CheckRunning says RUNNING, and Status names the first bot;
//  4. KillRunning stops the bot gracefully, and the lock is free at once;
//  5. CheckRunning says NOT RUNNING;
//  6. a new bot gets a larger fencing token than the first.
//
// It exits with status 0 if every step behaved as expected, and 1 if not.
// The lock directory is removed at the end; nothing else is touched.
//
//	go run ./examples/demo
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/singleinstance/singleinstance"
)

const (
	lockName = "demo_bot"
	// roleEnv set to "bot" makes this executable act as the guarded bot.
	roleEnv = "SINGLEINSTANCE_DEMO_ROLE"
	// stepTimeout bounds each wait for a bot. It never orders events (the
	// demo waits for the bots' own output and exit); it only turns a hung
	// bot into a failure instead of a hung demo.
	stepTimeout = 10 * time.Second
)

func main() {
	if os.Getenv(roleEnv) == "bot" {
		os.Exit(bot())
	}
	start := time.Now()
	if err := demo(); err != nil {
		fmt.Fprintf(os.Stderr, "\nDEMO FAILED: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("\nAll steps behaved as expected (%v).\n", time.Since(start).Round(time.Millisecond))
}

// bot is the guarded program. It takes the lock with Run, which finds the
// lock directory in SINGLEINSTANCE_LOCK_DIR (set by the demo), prints
// "ready PID", and works until Run cancels its context (SIGINT, SIGTERM, a
// lost lock) or its standard input closes (the demo wants it to stop, or
// has died). A second bot prints the holder's report and exits with status
// 1, as AcquireOrExit would.
func bot() int {
	err := singleinstance.Run(lockName, func(ctx context.Context) error {
		fmt.Printf("ready %d\n", os.Getpid())
		stdinClosed := make(chan struct{})
		go func() {
			io.Copy(io.Discard, os.Stdin)
			close(stdinClosed)
		}()
		select {
		case <-ctx.Done():
			fmt.Printf("stopping: %v\n", context.Cause(ctx))
		case <-stdinClosed:
			fmt.Println("stopping: standard input closed")
		}
		return nil
	})
	var conflict *singleinstance.AlreadyRunningError
	switch {
	case errors.As(err, &conflict):
		fmt.Fprint(os.Stderr, conflict.Report())
		return singleinstance.ExitAlreadyRunning
	case err != nil:
		fmt.Fprintln(os.Stderr, "bot:", err)
		return singleinstance.ExitLockError
	}
	fmt.Println("released")
	return 0
}

// botProc is a running bot seen from the demo.
type botProc struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan string // the bot's stdout, line by line; closed at EOF
	stderr bytes.Buffer
	done   bool
}

// startBot starts a bot with the lock directory dir. Its standard error is
// captured if capture is set, and passed through otherwise.
func startBot(dir string, capture bool) (*botProc, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	b := &botProc{cmd: exec.Command(exe), lines: make(chan string, 16)}
	b.cmd.Env = append(os.Environ(), roleEnv+"=bot", singleinstance.LockDirEnv+"="+dir)
	b.cmd.Stderr = os.Stderr
	if capture {
		b.cmd.Stderr = &b.stderr
	}
	if b.stdin, err = b.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := b.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := b.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			b.lines <- sc.Text()
		}
		close(b.lines)
	}()
	return b, nil
}

// ready waits for the bot's "ready PID" line and returns the PID.
func (b *botProc) ready() (int, error) {
	select {
	case line, ok := <-b.lines:
		if !ok {
			_, code, _ := b.finish()
			return 0, fmt.Errorf("bot exited with status %d before it was ready: %s", code, strings.TrimSpace(b.stderr.String()))
		}
		pid, err := strconv.Atoi(strings.TrimPrefix(line, "ready "))
		if err != nil || !strings.HasPrefix(line, "ready ") {
			return 0, fmt.Errorf("bot printed %q, want \"ready PID\"", line)
		}
		return pid, nil
	case <-time.After(stepTimeout):
		return 0, fmt.Errorf("bot not ready after %v", stepTimeout)
	}
}

// finish waits for the bot to close its stdout and exit, and returns the
// lines it printed meanwhile and its exit status.
func (b *botProc) finish() (lines []string, code int, err error) {
	if b.done {
		return nil, b.cmd.ProcessState.ExitCode(), nil
	}
	timeout := time.After(stepTimeout)
	for {
		select {
		case line, ok := <-b.lines:
			if ok {
				lines = append(lines, line)
				continue
			}
		case <-timeout:
			b.kill()
			return lines, -1, fmt.Errorf("bot still running after %v", stepTimeout)
		}
		break
	}
	b.done = true
	b.cmd.Wait() // a non-zero status is reported through code
	return lines, b.cmd.ProcessState.ExitCode(), nil
}

// kill ends the bot at once; it is the clean-up when a step fails.
func (b *botProc) kill() {
	if b.done {
		return
	}
	b.done = true
	b.stdin.Close()
	b.cmd.Process.Kill()
	b.cmd.Wait()
}

func heading(n int, title string) { fmt.Printf("\n== Step %d: %s ==\n", n, title) }

func checkRunning(opt singleinstance.Option) (bool, error) {
	running, err := singleinstance.CheckRunning(lockName, opt)
	if err != nil {
		return false, err
	}
	state := "NOT RUNNING"
	if running {
		state = "RUNNING"
	}
	fmt.Printf("   Application '%s': %s\n", lockName, state)
	return running, nil
}

// holderToken asks Status who holds the lock, checks that it is the bot
// with pid, and returns its fencing token.
func holderToken(opt singleinstance.Option, pid int) (uint64, error) {
	st, err := singleinstance.Status(lockName, opt)
	if err != nil {
		return 0, err
	}
	if !st.Running || st.Holder == nil || !st.Verified {
		return 0, fmt.Errorf("Status = running %v, verified %v, holder %v; want the bot with pid %d, verified",
			st.Running, st.Verified, st.Holder, pid)
	}
	if st.Holder.PID != pid {
		return 0, fmt.Errorf("Status says pid %d holds the lock, want %d", st.Holder.PID, pid)
	}
	fmt.Printf("   Status: held by pid %d (verified), fencing token %d\n", pid, st.Holder.Token)
	return st.Holder.Token, nil
}

func demo() error {
	dir, err := os.MkdirTemp("", "singleinstance-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	opt := singleinstance.WithLockDir(dir)
	var bots []*botProc
	defer func() {
		for _, b := range bots {
			b.kill()
		}
	}()
	start := func(capture bool) (*botProc, error) {
		b, err := startBot(dir, capture)
		if err == nil {
			bots = append(bots, b)
		}
		return b, err
	}
	fmt.Printf("singleinstance demo: lock %q in %s\n", lockName, dir)

	heading(1, "start a bot; it takes the lock")
	first, err := start(false)
	if err != nil {
		return err
	}
	firstPID, err := first.ready()
	if err != nil {
		return err
	}
	fmt.Printf("   bot 1 is running as pid %d\n", firstPID)

	heading(2, "start a second bot; it must be refused")
	second, err := start(true)
	if err != nil {
		return err
	}
	second.stdin.Close() // were it to get the lock, it would stop at once
	lines, code, err := second.finish()
	if err != nil {
		return err
	}
	if code != singleinstance.ExitAlreadyRunning || len(lines) > 0 {
		return fmt.Errorf("second bot: exit status %d, output %q; want status %d and no output",
			code, lines, singleinstance.ExitAlreadyRunning)
	}
	report := second.stderr.String()
	if !strings.Contains(report, fmt.Sprintf("  pid=%d\n", firstPID)) {
		return fmt.Errorf("second bot's report does not name pid %d:\n%s", firstPID, report)
	}
	fmt.Printf("   bot 2 exited with status %d and printed:\n", code)
	for _, line := range strings.SplitAfter(strings.TrimSuffix(report, "\n"), "\n") {
		fmt.Printf("   | %s", line)
	}
	fmt.Println()
	fmt.Println("   (The singleinstance command is not released yet; step 4 does the same from Go.)")

	heading(3, "CheckRunning and Status")
	if running, err := checkRunning(opt); err != nil || !running {
		return fmt.Errorf("CheckRunning = %v, %v while bot 1 runs", running, err)
	}
	firstToken, err := holderToken(opt, firstPID)
	if err != nil {
		return err
	}

	heading(4, "KillRunning: stop the proven holder gracefully")
	stopped, err := singleinstance.KillRunning(lockName, false, opt)
	if err != nil || !stopped {
		return fmt.Errorf("KillRunning = %v, %v; want true, nil", stopped, err)
	}
	fmt.Println("   KillRunning returned true: the lock is free")
	lines, code, err = first.finish()
	if err != nil {
		return err
	}
	if runtime.GOOS == "windows" {
		// Windows has no SIGTERM: KillRunning terminates the process.
		fmt.Printf("   bot 1 was terminated (exit status %d); Windows has no graceful stop signal\n", code)
	} else {
		if code != 0 || len(lines) != 2 || !strings.HasPrefix(lines[0], "stopping: ") || lines[1] != "released" {
			return fmt.Errorf("bot 1 after KillRunning: exit status %d, output %q; want status 0 after \"stopping: ...\" and \"released\"",
				code, lines)
		}
		fmt.Printf("   bot 1 said %q, then %q, and exited with status 0\n", lines[0], lines[1])
	}

	heading(5, "CheckRunning after the stop")
	if running, err := checkRunning(opt); err != nil || running {
		return fmt.Errorf("CheckRunning = %v, %v after KillRunning", running, err)
	}

	heading(6, "the fencing token grows with every acquisition")
	third, err := start(false)
	if err != nil {
		return err
	}
	thirdPID, err := third.ready()
	if err != nil {
		return err
	}
	fmt.Printf("   bot 3 is running as pid %d\n", thirdPID)
	thirdToken, err := holderToken(opt, thirdPID)
	if err != nil {
		return err
	}
	if thirdToken <= firstToken {
		return fmt.Errorf("bot 3 has token %d, not greater than bot 1's %d", thirdToken, firstToken)
	}
	fmt.Printf("   %d (bot 3) > %d (bot 1): a stale holder's writes can be rejected downstream\n",
		thirdToken, firstToken)
	third.stdin.Close()
	lines, code, err = third.finish()
	if err != nil {
		return err
	}
	if code != 0 || len(lines) == 0 || lines[len(lines)-1] != "released" {
		return fmt.Errorf("bot 3 after its input closed: exit status %d, output %q", code, lines)
	}
	fmt.Println("   bot 3 stopped when told to and released the lock")
	if running, err := checkRunning(opt); err != nil || running {
		return fmt.Errorf("CheckRunning = %v, %v after bot 3 stopped", running, err)
	}
	return nil
}
