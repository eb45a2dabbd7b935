package cli

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestEarlySignalLeavesNothingBehind sends SIGTERM to run from the moment
// it starts, at a spread of delays that covers the time before its
// signals are caught, while it takes the lock, and after the command has
// started. Whatever the moment, run must end (by the signal, or with the
// command's 128+15 after forwarding it), and the name must be free
// afterwards: no command left running under the lock, no lock held by a
// dead wrapper that a newcomer would refuse on.
func TestEarlySignalLeavesNothingBehind(t *testing.T) {
	t.Parallel()
	exe, env := cliIn(t, filepath.Join(t.TempDir(), "locks"))
	signalled, forwarded := 0, 0
	for round := range 40 {
		delay := time.Duration(round*round) * 60 * time.Microsecond // 0 to about 90ms
		cmd := exec.Command(exe, "run", "early", "--", "sleep", "30")
		cmd.Env = env
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// The delay is the test's input, not a wait for anything.
		time.Sleep(delay)
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		var err error
		select {
		case err = <-done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			t.Fatalf("round %d (SIGTERM after %v): run did not end within 30s; stderr:\n%s", round, delay, stderr.String())
		}
		var ee *exec.ExitError
		switch {
		case errors.As(err, &ee) && ee.Sys().(syscall.WaitStatus).Signal() == syscall.SIGTERM:
			signalled++
		case exitCode(err) == 128+int(syscall.SIGTERM):
			forwarded++
		default:
			t.Fatalf("round %d (SIGTERM after %v): run ended with %v, want SIGTERM or exit 143; stderr:\n%s",
				round, delay, err, stderr.String())
		}
		awaitFree(t, exe, env, "early", fmt.Sprintf("round %d (SIGTERM after %v)", round, delay))
	}
	t.Logf("%d rounds ended by the signal, %d by the command after forwarding", signalled, forwarded)
}

// awaitFree waits until "check name" says not running. The command of a
// wrapper that died of a signal dies with it (parent-death signal), which
// the kernel delivers without waiting for anyone.
func awaitFree(t *testing.T, exe string, env []string, name, what string) {
	t.Helper()
	awaitCheck(t, exe, env, name, exitNo, what)
}

// awaitCheck waits, for at most 10s, until "check name" exits with want.
func awaitCheck(t *testing.T, exe string, env []string, name string, want int, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		check := exec.Command(exe, "check", name)
		check.Env = env
		out, err := check.CombinedOutput()
		if exitCode(err) == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: check %q still says %v 10s on, want exit %d\n%s", what, name, err, want, out)
		}
	}
}

// cliIn returns the CLI (this test binary) and an environment that runs it
// as the CLI with lockDir as its lock directory.
func cliIn(t *testing.T, lockDir string) (exe string, env []string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe, append(os.Environ(), cliEnv+"=1", "GORACE="+goRace(), "SINGLEINSTANCE_LOCK_DIR="+lockDir)
}

// TestConflictToClosedStderr refuses a second copy whose stderr is a pipe
// nobody reads: writing the conflict report must fail quietly, and run
// must still exit 1, not die of SIGPIPE. It writes at once after taking
// the lock failed, while run may still be catching its signals.
func TestConflictToClosedStderr(t *testing.T) {
	t.Parallel()
	exe, env := cliIn(t, filepath.Join(t.TempDir(), "locks"))
	release := filepath.Join(t.TempDir(), "release")
	holder := exec.Command(exe, "run", "held", "--", "sh", "-c",
		`i=0; while [ ! -e "$0" ] && [ $i -lt 3000 ]; do i=$((i+1)); sleep 0.01; done`, release)
	holder.Env = env
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		os.WriteFile(release, nil, 0o666)
		holder.Wait()
	}()
	awaitCheck(t, exe, env, "held", exitOK, "the holder")
	for round := range 20 {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		r.Close()
		second := exec.Command(exe, "run", "held", "--", "true")
		second.Env = env
		second.Stderr = w
		err = second.Run()
		w.Close()
		if code := exitCode(err); code != exitNo {
			t.Fatalf("round %d: run refused with a closed stderr ended with %v, want exit %d", round, err, exitNo)
		}
	}
}

// TestRunKeepsIgnoredSignalsIgnored: SIGHUP ignored when run starts
// (nohup) stays ignored for the command, as it would without run; run
// does not catch it and hand the command the default action instead.
// SIGINT ignored (a shell's background job) is caught and forwarded all
// the same (see run_sigint_devnull.txtar): the command gets the default.
func TestRunKeepsIgnoredSignalsIgnored(t *testing.T) {
	t.Parallel()
	exe, env := cliIn(t, filepath.Join(t.TempDir(), "locks"))
	const hup, intr = 1 << (syscall.SIGHUP - 1), 1 << (syscall.SIGINT - 1)
	for _, tc := range []struct {
		trap string
		want uint64
	}{
		{"", 0},
		{`trap "" HUP;`, hup},
		{`trap "" HUP INT;`, hup},
		{`trap "" INT;`, 0},
	} {
		cmd := exec.Command("sh", "-c", tc.trap+` exec "$0" run ignored -- sh -c 'grep SigIgn /proc/self/status'`, exe)
		cmd.Env = env
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%q: %v", tc.trap, err)
		}
		field, ok := strings.CutPrefix(strings.TrimSpace(string(out)), "SigIgn:")
		if !ok {
			t.Fatalf("%q: the command printed %q", tc.trap, out)
		}
		mask, err := strconv.ParseUint(strings.TrimSpace(field), 16, 64)
		if err != nil {
			t.Fatal(err)
		}
		if got := mask & (hup | intr); got != tc.want {
			t.Errorf("%q: the command ignores %#x of SIGHUP|SIGINT, want %#x", tc.trap, got, tc.want)
		}
	}
}
