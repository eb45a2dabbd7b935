package mainflags

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/singleinstance/singleinstance"
)

const testName = "trading_bot"

// roleHold, the only child role here, takes the lock with Run, prints
// "ready PID", and holds it until its stdin closes or it is asked to stop;
// then prints "released".
const (
	childRoleEnv = "MAINFLAGS_TEST_CHILD"
	roleHold     = "hold"
)

func TestMain(m *testing.M) {
	if os.Getenv(childRoleEnv) == roleHold {
		os.Exit(hold())
	}
	os.Exit(m.Run())
}

func hold() int {
	err := singleinstance.Run(os.Getenv("SI_NAME"), func(ctx context.Context) error {
		fmt.Printf("ready %d\n", os.Getpid())
		stdinClosed := make(chan struct{})
		go func() {
			io.Copy(io.Discard, os.Stdin)
			close(stdinClosed)
		}()
		select {
		case <-ctx.Done():
			fmt.Printf("cancelled %v\n", context.Cause(ctx))
		case <-stdinClosed:
		}
		return nil
	}, singleinstance.WithLockDir(os.Getenv("SI_DIR")))
	if err != nil {
		fmt.Printf("error %v\n", err)
		return 3
	}
	fmt.Println("released")
	return 0
}

func lockDir(t *testing.T) (string, singleinstance.Option) {
	t.Helper()
	dir := t.TempDir()
	return dir, singleinstance.WithLockDir(dir)
}

// child is the test binary re-run in a role.
type child struct {
	t     *testing.T
	cmd   *exec.Cmd
	lines *bufio.Scanner
	pid   int
}

func startChild(t *testing.T, role, dir, name string) *child {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childRoleEnv+"="+role, "SI_DIR="+dir, "SI_NAME="+name)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{t: t, cmd: cmd, lines: bufio.NewScanner(stdout), pid: cmd.Process.Pid}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
	t.Logf("started child %d as %s", c.pid, role)
	return c
}

// expect reads the child's next line and checks its prefix. A child that
// says nothing ends with the test's deadline (exec.CommandContext).
func (c *child) expect(prefix string) string {
	c.t.Helper()
	if !c.lines.Scan() {
		c.t.Fatalf("child %d exited early", c.pid)
	}
	line := c.lines.Text()
	c.t.Logf("child %d: %s", c.pid, line)
	if !strings.HasPrefix(line, prefix) {
		c.t.Fatalf("child %d printed %q, want prefix %q", c.pid, line, prefix)
	}
	return line
}

// expectStopped checks how the holder ended: killed if force, else a
// graceful exit 0 after its context was cancelled.
func (c *child) expectStopped(force bool) {
	c.t.Helper()
	if !force {
		c.expect("cancelled")
		c.expect("released")
	}
	c.cmd.Wait()
	code, want := c.cmd.ProcessState.ExitCode(), 0
	if force {
		want = -1
	}
	if code != want {
		c.t.Fatalf("holder exit code %d, want %d", code, want)
	}
}
