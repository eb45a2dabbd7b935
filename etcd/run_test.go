package etcd_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/singleinstance/singleinstance"
	"github.com/singleinstance/singleinstance/etcd"
	"github.com/singleinstance/singleinstance/etcd/etcdtest"
)

// TestRunCancelledOnLoss: Run's context is cancelled with an ErrLockLost
// cause when its holder is cut off from etcd, and Run returns that error
// even though the function returned nil.
func TestRunCancelledOnLoss(t *testing.T) {
	c := etcdtest.Start(t)
	proxy := etcdtest.NewProxy(t, c.Endpoints()[0])
	b := hostOn(t, etcdtest.NewClient(t, proxy.Endpoint()), c.Prefix(t), etcd.WithRequestTimeout(300*time.Millisecond))
	cause := make(chan error, 1)
	err := singleinstance.Run(testName, func(ctx context.Context) error {
		inst, ok := singleinstance.FromContext(ctx)
		if !ok || inst.Token() == 0 {
			return errors.New("no instance in the context")
		}
		proxy.Partition()
		<-ctx.Done()
		cause <- context.Cause(ctx)
		if inst.Err() == nil {
			return errors.New("Err is nil after the context was cancelled for a loss")
		}
		return nil
	}, singleinstance.WithBackend(b))
	if !errors.Is(err, singleinstance.ErrLockLost) {
		t.Fatalf("Run = %v, want ErrLockLost", err)
	}
	if got := <-cause; !errors.Is(got, singleinstance.ErrLockLost) {
		t.Fatalf("context cause %v", got)
	}
	proxy.Heal()
}

// TestSignalEndsWait: SIGTERM to a process whose Run waits for the lock
// ends the wait, as a conflict caused by the cancellation.
func TestSignalEndsWait(t *testing.T) {
	c := etcdtest.Start(t)
	prefix := c.Prefix(t)
	hold(t, host(t, c, prefix), testName)
	waiter := startChild(t, roleRunWait, c.Endpoints(), prefix, testName)
	if line := waiter.Next(); line != "waiting" {
		t.Fatalf("child said %q", line)
	}
	waiter.Cmd.Process.Signal(syscall.SIGTERM)
	line := waiter.Next()
	if !strings.HasSuffix(line, "conflict true; cancelled true") {
		t.Fatalf("after SIGTERM while waiting: %q", line)
	}
	if code := waiter.ExitCode(); code != 0 {
		t.Fatalf("exit %d", code)
	}
}

// TestStartCommandUnderLease: a wrapper's command is described as the
// holder, with the wrapper as owner; when the wrapper is killed with
// SIGKILL, its command dies with it, so it cannot run on after the lease
// expires.
func TestStartCommandUnderLease(t *testing.T) {
	c := etcdtest.Start(t)
	prefix := c.Prefix(t)
	w := startChild(t, roleWrap, c.Endpoints(), prefix, testName)
	var wrapped, ready int
	for range 2 {
		line := w.Next()
		if _, err := fmt.Sscanf(line, "wrapping %d", &wrapped); err == nil {
			continue
		}
		if _, err := fmt.Sscanf(line, "ready %d", &ready); err != nil {
			t.Fatalf("unexpected line %q", line)
		}
	}
	if wrapped != ready {
		t.Fatalf("wrapping %d, ready %d", wrapped, ready)
	}
	b := host(t, c, prefix)
	st, err := singleinstance.Status(testName, singleinstance.WithBackend(b))
	if err != nil || !st.Running || st.Holder == nil {
		t.Fatalf("Status = %+v, %v", st, err)
	}
	if st.Holder.PID != wrapped || st.Holder.OwnerPID != w.Cmd.Process.Pid {
		t.Fatalf("holder pid %d owner %d; want command %d, wrapper %d",
			st.Holder.PID, st.Holder.OwnerPID, wrapped, w.Cmd.Process.Pid)
	}
	w.Cmd.Process.Signal(syscall.SIGKILL)
	// Both processes write to the same pipe: it ends when both are dead.
	select {
	case line, ok := <-w.Lines():
		if ok {
			t.Fatalf("unexpected line %q", line)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the command outlived its killed wrapper")
	}
}
