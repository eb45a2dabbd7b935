package testchild_test

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/singleinstance/singleinstance/internal/testchild"
)

const childRoleEnv = "SINGLEINSTANCE_TESTCHILD_TEST_CHILD"

// Roles of the children here.
const (
	// roleEcho prints "ready PID", then echoes each stdin line back as
	// "echo LINE" until stdin closes, then exits with the code in
	// TESTCHILD_EXIT.
	roleEcho = "echo"
	// roleDeaf prints "ready PID" and ignores stdin: it runs until killed
	// (at most 2 minutes, should a test fail to kill it).
	roleDeaf = "deaf"
)

func TestMain(m *testing.M) {
	if role := os.Getenv(childRoleEnv); role != "" {
		os.Exit(runChild(role))
	}
	os.Exit(m.Run())
}

func runChild(role string) int {
	fmt.Printf("ready %d\n", os.Getpid())
	switch role {
	case roleEcho:
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			fmt.Println("echo", sc.Text())
		}
		code, _ := strconv.Atoi(os.Getenv("TESTCHILD_EXIT"))
		return code
	case roleDeaf:
		<-time.After(2 * time.Minute)
		return 0
	}
	return 2
}

func TestChildTalksAndExits(t *testing.T) {
	c := testchild.Start(t, testchild.Command(childRoleEnv, roleEcho, "TESTCHILD_EXIT=7"))
	if got, want := c.Expect("ready "), fmt.Sprintf("ready %d", c.Pid); got != want {
		t.Errorf("first line %q, want %q", got, want)
	}
	fmt.Fprintln(c.Stdin, "hello")
	if got := c.Next(); got != "echo hello" {
		t.Errorf("echo: %q", got)
	}
	c.Stdin.Close()
	if code := c.ExitCode(); code != 7 {
		t.Errorf("exit code %d, want 7", code)
	}
	var exit *exec.ExitError
	if err := c.Wait(); !errors.As(err, &exit) {
		t.Errorf("Wait after exit: %v, want an *exec.ExitError", err)
	}
}

// TestChildOutputAfterExit: lines the child printed before it exited can
// be read after Wait.
func TestChildOutputAfterExit(t *testing.T) {
	c := testchild.Start(t, testchild.Command(childRoleEnv, roleEcho))
	fmt.Fprintln(c.Stdin, "one")
	fmt.Fprintln(c.Stdin, "two")
	c.Stdin.Close()
	if code := c.ExitCode(); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	var got []string
	for line := range c.Lines() {
		got = append(got, line)
	}
	want := []string{fmt.Sprintf("ready %d", c.Pid), "echo one", "echo two"}
	if !slices.Equal(got, want) {
		t.Errorf("lines %q, want %q", got, want)
	}
}

// TestChildConcurrentWait waits for one child from many goroutines at
// once, and again at cleanup. The etcd tests' former harness closed a
// channel in each waiter that got past its check before the first one
// closed it, and panicked: "close of closed channel".
func TestChildConcurrentWait(t *testing.T) {
	c := testchild.Start(t, testchild.Command(childRoleEnv, roleDeaf))
	c.Expect("ready")
	var wg sync.WaitGroup
	codes := make([]int, 8)
	for i := range codes {
		wg.Go(func() {
			c.Wait()
			codes[i] = c.Cmd.ProcessState.ExitCode()
		})
	}
	if err := c.Cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for i, code := range codes {
		if code != -1 {
			t.Errorf("waiter %d: exit code %d, want -1 (killed)", i, code)
		}
	}
	if code := c.ExitCode(); code != -1 {
		t.Errorf("ExitCode after the waiters: %d, want -1", code)
	}
}

// fakeTB records the failures and cleanups of a Child, so that a test can
// run its cleanup and see it fail.
type fakeTB struct {
	testing.TB
	mu       sync.Mutex
	errors   []string
	cleanups []func()
}

func (f *fakeTB) Helper()           {}
func (f *fakeTB) Cleanup(fn func()) { f.cleanups = append(f.cleanups, fn) }
func (f *fakeTB) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errors = append(f.errors, fmt.Sprintf(format, args...))
}

// TestChildCleanupKillsAHungChild: a child that does not exit when its
// stdin closes is killed after the deadline, and the test fails.
func TestChildCleanupKillsAHungChild(t *testing.T) {
	f := &fakeTB{TB: t}
	c := testchild.Start(f, testchild.Command(childRoleEnv, roleDeaf))
	c.Timeout = 200 * time.Millisecond // the deadline under test, not a pause
	c.Expect("ready")
	for _, fn := range slices.Backward(f.cleanups) {
		fn()
	}
	select {
	case <-c.Exited():
	default:
		t.Fatal("cleanup returned with the child still running")
	}
	if code := c.Cmd.ProcessState.ExitCode(); code != -1 {
		t.Errorf("exit code %d, want -1 (killed)", code)
	}
	if len(f.errors) != 1 {
		t.Errorf("cleanup reported %q, want one error about the hung child", f.errors)
	}
}

// TestChildWaitDeadline: Wait gives up after the deadline and fails the
// test.
func TestChildWaitDeadline(t *testing.T) {
	f := &fakeTB{TB: t}
	c := testchild.Start(f, testchild.Command(childRoleEnv, roleDeaf))
	t.Cleanup(func() {
		c.Cmd.Process.Kill()
		for _, fn := range f.cleanups {
			fn()
		}
	})
	c.Expect("ready")
	c.Timeout = 100 * time.Millisecond
	if err := c.Wait(); !errors.Is(err, testchild.ErrTimeout) {
		t.Errorf("Wait: %v, want ErrTimeout", err)
	}
	if len(f.errors) != 1 {
		t.Errorf("errors %q, want one", f.errors)
	}
}
