// Package testchild runs a test binary again as a child process in a role,
// so that tests get real, separate processes: holders, waiters, other
// hosts. It is a test helper: only _test.go files import it.
//
// The test binary's TestMain picks the role from an environment variable
// and runs it instead of the tests:
//
//	const childRoleEnv = "MYPKG_TEST_CHILD"
//
//	func TestMain(m *testing.M) {
//		if role := os.Getenv(childRoleEnv); role != "" {
//			os.Exit(runChild(role))
//		}
//		os.Exit(m.Run())
//	}
//
// A test starts a child with Start(t, Command(childRoleEnv, role)) and
// talks to it by lines: it writes to Stdin and reads what the child prints
// with Next or Expect. The roles themselves stay next to the tests that
// use them.
//
// Every wait has a deadline (Child.Timeout, a minute unless changed), so a
// child that hangs fails the test instead of hanging it. When the test
// ends, its cleanup closes the child's stdin and waits for the child to
// exit; one still running after the deadline is killed and the test
// fails.
package testchild

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// DefaultTimeout bounds each wait for a line or for the exit.
const DefaultTimeout = time.Minute

// Command returns a command that runs the test binary in role: env=role
// in the environment, plus extra variables, and no tests.
func Command(env, role string, extra ...string) *exec.Cmd {
	return CommandContext(context.Background(), env, role, extra...)
}

// CommandContext is Command with a context that kills the child when it
// is done; with t.Context(), the child is killed as the test ends, before
// its cleanup runs.
func CommandContext(ctx context.Context, env, role string, extra ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), env+"="+role)
	// Under the race detector, a child that exits 0 otherwise lingers a
	// second (the detector's exit delay), which adds up over many tests.
	// Races it found are reported all the same.
	gorace := "atexit_sleep_ms=0"
	if v := os.Getenv("GORACE"); v != "" {
		gorace = v + " " + gorace
	}
	cmd.Env = append(cmd.Env, "GORACE="+gorace)
	cmd.Env = append(cmd.Env, extra...)
	return cmd
}

// Child is a running child process.
type Child struct {
	// Cmd is the started command; read Cmd.ProcessState only after Wait.
	Cmd *exec.Cmd
	// Stdin writes to the child's standard input; closing it is how most
	// roles are told to finish.
	Stdin io.WriteCloser
	// Pid is the child's process id.
	Pid int
	// Timeout bounds each wait of Next, Expect, Wait and ExitCode; it is
	// DefaultTimeout unless changed.
	Timeout time.Duration

	t      testing.TB
	lines  chan string
	stdout *os.File      // read end of the child's stdout
	quit   chan struct{} // closed at cleanup: stop delivering lines
	read   chan struct{} // closed when the line reader is done

	exited  chan struct{} // closed once the child has exited and waitErr is set
	waitErr error
	cleanup sync.Once
}

// Start starts cmd, a test binary in a child role (see Command), with
// pipes to its stdin and stdout; its stderr goes to the test binary's
// unless cmd sets it. The test's cleanup closes the child's stdin and
// waits for it.
func Start(t testing.TB, cmd *exec.Cmd) *Child {
	t.Helper()
	if cmd.Stderr == nil {
		cmd.Stderr = os.Stderr
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	// Our own pipe rather than StdoutPipe: Wait then leaves it alone, so
	// the child can be waited for at once, and whatever it printed before
	// it exited can still be read.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = w
	err = cmd.Start()
	w.Close()
	if err != nil {
		r.Close()
		stdin.Close()
		t.Fatal(err)
	}
	c := &Child{
		Cmd: cmd, Stdin: stdin, Pid: cmd.Process.Pid, Timeout: DefaultTimeout,
		t: t, lines: make(chan string, 64), stdout: r,
		quit: make(chan struct{}), read: make(chan struct{}), exited: make(chan struct{}),
	}
	go func() {
		defer close(c.read)
		defer close(c.lines)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			select {
			case c.lines <- sc.Text():
			case <-c.quit:
				return
			}
		}
	}()
	// The only call of cmd.Wait: Wait and ExitCode wait for exited, so
	// any number of them, from any goroutine, are safe.
	go func() {
		c.waitErr = cmd.Wait()
		close(c.exited)
	}()
	t.Cleanup(c.stop)
	return c
}

// stop closes stdin, waits for the child (killing it after the deadline)
// and for the line reader.
func (c *Child) stop() {
	c.cleanup.Do(func() {
		c.Stdin.Close()
		select {
		case <-c.exited:
		case <-time.After(c.Timeout):
			c.t.Errorf("child %d still running %v after its stdin was closed; killing it", c.Pid, c.Timeout)
			c.Cmd.Process.Kill()
			<-c.exited
		}
		// Descendants may hold the write end of stdout open; closing
		// the read end ends the reader all the same.
		close(c.quit)
		c.stdout.Close()
		<-c.read
	})
}

// Lines delivers the child's output, one line at a time; it is closed when
// the output ends. Next and Expect read from it too.
func (c *Child) Lines() <-chan string { return c.lines }

// Next waits for the child's next line and returns it. The test fails if
// the output ends or nothing comes within the deadline.
func (c *Child) Next() string {
	c.t.Helper()
	select {
	case line, ok := <-c.lines:
		if !ok {
			c.t.Fatalf("child %d ended its output (exit: %v)", c.Pid, c.Wait())
		}
		if _, bench := c.t.(*testing.B); !bench {
			c.t.Logf("child %d: %s", c.Pid, line)
		}
		return line
	case <-time.After(c.Timeout):
		c.t.Fatalf("child %d printed nothing within %v", c.Pid, c.Timeout)
	}
	return ""
}

// Expect waits for the child's next line and checks its prefix.
func (c *Child) Expect(prefix string) string {
	c.t.Helper()
	line := c.Next()
	if !strings.HasPrefix(line, prefix) {
		c.t.Fatalf("child %d printed %q, want prefix %q", c.Pid, line, prefix)
	}
	return line
}

// ErrTimeout is what Wait returns when the child is still running after
// the deadline.
var ErrTimeout = errors.New("testchild: child still running after the deadline")

// Wait waits for the child to exit and returns what exec.Cmd.Wait said,
// or ErrTimeout after the deadline (the test fails then too). It may be
// called any number of times, from any goroutine.
func (c *Child) Wait() error {
	select {
	case <-c.exited:
		return c.waitErr
	case <-time.After(c.Timeout):
		c.t.Errorf("child %d still running after %v", c.Pid, c.Timeout)
		return ErrTimeout
	}
}

// Exited is closed once the child has exited.
func (c *Child) Exited() <-chan struct{} { return c.exited }

// ExitCode waits for the child and returns its exit code, -1 if it was
// killed by a signal. The test fails if the child is still running after
// the deadline.
func (c *Child) ExitCode() int {
	c.t.Helper()
	if errors.Is(c.Wait(), ErrTimeout) {
		c.t.FailNow()
	}
	return c.Cmd.ProcessState.ExitCode()
}
