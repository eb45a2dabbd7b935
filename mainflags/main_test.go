package mainflags

import (
	"context"
	"fmt"
	"io"
	"os"
	"testing"

	"github.com/singleinstance/singleinstance"
	"github.com/singleinstance/singleinstance/internal/testchild"
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

// child is the test binary re-run in a role (see internal/testchild).
type child = testchild.Child

// startChild starts the test binary in role with the lock directory and
// name; it is killed when the test ends.
func startChild(t *testing.T, role, dir, name string) *child {
	t.Helper()
	c := testchild.Start(t, testchild.CommandContext(t.Context(), childRoleEnv, role, "SI_DIR="+dir, "SI_NAME="+name))
	t.Logf("started child %d as %s", c.Pid, role)
	return c
}

// expectStopped checks how the holder ended: killed if force, else a
// graceful exit 0 after its context was cancelled.
func expectStopped(t *testing.T, c *child, force bool) {
	t.Helper()
	if !force {
		c.Expect("cancelled")
		c.Expect("released")
	}
	code, want := c.ExitCode(), 0
	if force {
		want = -1
	}
	if code != want {
		t.Fatalf("holder exit code %d, want %d", code, want)
	}
}
