package etcd_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/singleinstance/singleinstance"
	"github.com/singleinstance/singleinstance/etcd"
	"github.com/singleinstance/singleinstance/internal/testchild"
)

// Roles of a re-executed test binary: a process on another "host", with
// its own client and lease.
const (
	// roleHold waits for the lock, prints "acquired TOKEN", and holds it
	// until stdin closes.
	roleHold = "hold"
	// roleJournal takes the lock SI_ROUNDS times, each time appending
	// "start PID" and "end PID" to the journal SI_JOURNAL in between.
	roleJournal = "journal"
	// roleRunWait runs singleinstance.Run waiting without limit, printing
	// "waiting" once it waits, and prints how Run ended.
	roleRunWait = "runwait"
	// roleWrap takes the lock and starts roleIdle under it with
	// StartCommand, printing "wrapping PID"; it waits for the command.
	roleWrap = "wrap"
	// roleIdle prints "ready PID" and runs until killed (at most 2
	// minutes, should a test fail to kill it).
	roleIdle = "idle"
)

func runChild(role string) int {
	if role == roleIdle {
		fmt.Printf("ready %d\n", os.Getpid())
		<-time.After(2 * time.Minute)
		return 0
	}
	ctx := context.Background()
	logger := slog.New(&signalHandler{msg: "singleinstance/etcd: waiting for the lock", ch: make(chan struct{}, 1),
		print: "waiting"})
	b, err := etcd.Dial(ctx, etcd.Config{Endpoints: etcd.SplitEndpoints(os.Getenv("SI_ENDPOINTS"))},
		etcd.WithPrefix(os.Getenv("SI_PREFIX")), etcd.WithTTL(testTTL), etcd.WithLogger(logger))
	if err != nil {
		fmt.Println("error", err)
		return 3
	}
	defer b.Close()
	name := os.Getenv("SI_NAME")
	opts := []singleinstance.Option{singleinstance.WithBackend(b), singleinstance.WithTimeout(-1)}
	switch role {
	case roleHold:
		inst, err := singleinstance.New(name, opts...)
		if err != nil {
			fmt.Println("error", err)
			return 1
		}
		fmt.Println("acquired", inst.Token())
		io.Copy(io.Discard, os.Stdin)
		inst.Release()
		fmt.Println("released")
		return 0
	case roleJournal:
		rounds, _ := strconv.Atoi(os.Getenv("SI_ROUNDS"))
		j, err := os.OpenFile(os.Getenv("SI_JOURNAL"), os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			fmt.Println("error", err)
			return 3
		}
		defer j.Close()
		pid := os.Getpid()
		for range rounds {
			inst, err := singleinstance.New(name, opts...)
			if err != nil {
				fmt.Println("error", err)
				return 1
			}
			fmt.Fprintf(j, "start %d %d\n", pid, inst.Token())
			fmt.Fprintf(j, "end %d %d\n", pid, inst.Token())
			if err := inst.Release(); err != nil {
				fmt.Println("error", err)
				return 3
			}
		}
		return 0
	case roleRunWait:
		err := singleinstance.Run(name, func(ctx context.Context) error { return nil }, opts...)
		fmt.Printf("run ended: %v; conflict %v; cancelled %v\n", err,
			errors.Is(err, singleinstance.ErrAlreadyRunning), errors.Is(err, context.Canceled))
		return 0
	case roleWrap:
		inst, err := singleinstance.New(name, opts...)
		if err != nil {
			fmt.Println("error", err)
			return 1
		}
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), childRoleEnv+"="+roleIdle)
		cmd.Stdout = os.Stdout
		if err := inst.StartCommand(cmd); err != nil {
			fmt.Println("error", err)
			return 3
		}
		fmt.Printf("wrapping %d\n", cmd.Process.Pid)
		cmd.Wait()
		inst.Release()
		return 0
	}
	fmt.Fprintln(os.Stderr, "unknown child role", role)
	return 2
}

// child is a re-executed test binary acting as another host (see
// internal/testchild).
type child = testchild.Child

// startChild starts the test binary in role against endpoints and prefix;
// env adds variables. Its stdin is closed and it is waited for when the
// test ends; each wait for it has a 30s deadline.
func startChild(t testing.TB, role string, endpoints []string, prefix, name string, env ...string) *child {
	t.Helper()
	env = append([]string{"SI_ENDPOINTS=" + strings.Join(endpoints, ","), "SI_PREFIX=" + prefix, "SI_NAME=" + name}, env...)
	c := testchild.Start(t, testchild.Command(childRoleEnv, role, env...))
	c.Timeout = 30 * time.Second
	return c
}
