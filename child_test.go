package singleinstance_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/singleinstance/singleinstance"
	"github.com/singleinstance/singleinstance/internal/nametoken"
	"github.com/singleinstance/singleinstance/internal/testchild"
)

// Child roles. The parent passes the lock directory and name in the
// environment; a child reports on stdout, one line per event.
const (
	// roleHold takes the lock with Run (waiting for it with SI_WAIT=1),
	// prints "ready PID", and holds it until its stdin closes or it gets
	// SIGTERM/SIGINT; then prints "released" and exits 0.
	roleHold = "hold"
	// roleJournal takes and releases the lock SI_ROUNDS times, appending
	// "+PID" and "-PID" lines to the journal SI_JOURNAL inside each
	// critical section. SI_WAIT=1 waits for the lock; otherwise it waits
	// 5ms at a time and retries on conflict.
	roleJournal = "journal"
	// roleIdle prints "ready PID" and waits for stdin to close: an
	// unrelated process.
	roleIdle = "idle"
	// roleWrap takes the lock and runs a roleIdle child (or the role
	// SI_COMMAND_ROLE names) under it with StartCommand, printing
	// "wrapping PID"; it releases when the child ends.
	roleWrap = "wrap"
	// roleSquat binds the name token keys SI_KEY (separated by commas),
	// prints "ready PID" and waits for stdin to close: another user who
	// squats a name.
	roleSquat = "squat"
	// roleThreadExit is a command that outlives its wrapper (it drops the
	// parent-death signal) and whose main thread exits while another
	// thread keeps the descriptors it inherited (Linux): it prints "ready
	// PID" just before its main thread exits, and runs until killed.
	roleThreadExit = "threadexit"
	// roleLinger takes the lock, runs "true" under it with StartCommand,
	// prints "lingering PID" once it has exited (with SI_NOREAP=1 leaving
	// it a zombie), and keeps holding the lock until its stdin closes or a
	// signal kills it: a wrapper whose command is gone.
	roleLinger = "linger"
	// rolePending takes the lock with WithCommandHolder and never starts a
	// command: an undescribed holder. It prints "ready PID" and holds the
	// lock until its stdin closes or a signal kills it.
	rolePending = "pending"
	// idleUntilKilledEnv makes roleIdle ignore stdin and run until it is
	// killed.
	idleUntilKilledEnv = "SI_IDLE_UNTIL_KILLED"
	// closeTokenEnv makes roleIdle, run as a command (under roleWrap),
	// close descriptor 4, the name token it inherited, before it says
	// "ready".
	closeTokenEnv = "SI_CLOSE_TOKEN"
)

func runChild(role string) int {
	dir, name := os.Getenv("SI_DIR"), os.Getenv("SI_NAME")
	switch role {
	case roleHold:
		opts := []singleinstance.Option{singleinstance.WithLockDir(dir)}
		if os.Getenv("SI_WAIT") == "1" {
			opts = append(opts, singleinstance.WithTimeout(-1))
		}
		err := singleinstance.Run(name, func(ctx context.Context) error {
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
		}, opts...)
		if err != nil {
			fmt.Printf("error %v\n", err)
			if errors.Is(err, singleinstance.ErrAlreadyRunning) {
				return 1
			}
			return 3
		}
		fmt.Println("released")
		return 0
	case roleThreadExit:
		return runThreadExit()
	case roleLinger:
		inst, err := singleinstance.New(name, singleinstance.WithLockDir(dir))
		if err != nil {
			fmt.Printf("error %v\n", err)
			return 1
		}
		cmd := exec.Command("true")
		if err := inst.StartCommand(cmd); err != nil {
			fmt.Printf("error %v\n", err)
			return 3
		}
		if os.Getenv("SI_NOREAP") == "1" {
			awaitExitLeavingZombie(cmd.Process.Pid)
		} else {
			cmd.Wait()
		}
		fmt.Printf("lingering %d\n", os.Getpid())
		io.Copy(io.Discard, os.Stdin)
		inst.Release()
		return 0
	case rolePending:
		inst, err := singleinstance.New(name, singleinstance.WithLockDir(dir), singleinstance.WithCommandHolder())
		if err != nil {
			fmt.Printf("error %v\n", err)
			return 1
		}
		fmt.Printf("ready %d\n", os.Getpid())
		io.Copy(io.Discard, os.Stdin)
		inst.Release()
		return 0
	case roleJournal:
		rounds, _ := strconv.Atoi(os.Getenv("SI_ROUNDS"))
		opts := []singleinstance.Option{singleinstance.WithLockDir(dir), singleinstance.WithLiveStats(false)}
		if os.Getenv("SI_WAIT") == "1" {
			opts = append(opts, singleinstance.WithTimeout(-1))
		} else {
			// Short waits that often time out: the retry path.
			opts = append(opts, singleinstance.WithTimeout(5*time.Millisecond))
		}
		j, err := os.OpenFile(os.Getenv("SI_JOURNAL"), os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			fmt.Println("error", err)
			return 3
		}
		pid := os.Getpid()
		for done := 0; done < rounds; {
			inst, err := singleinstance.New(name, opts...)
			if errors.Is(err, singleinstance.ErrAlreadyRunning) {
				continue
			}
			if err != nil {
				fmt.Println("error", err)
				return 3
			}
			fmt.Fprintf(j, "+%d %d\n", pid, inst.Token())
			fmt.Fprintf(j, "-%d\n", pid)
			if err := inst.Release(); err != nil {
				fmt.Println("error", err)
				return 3
			}
			done++
		}
		fmt.Println("done")
		return 0
	case roleHandoff:
		return runHandoffChild(dir, name)
	case roleWrap:
		inst, err := singleinstance.New(name, singleinstance.WithLockDir(dir))
		if err != nil {
			fmt.Println("error", err)
			return 1
		}
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		role := roleIdle
		if r := os.Getenv("SI_COMMAND_ROLE"); r != "" {
			role = r
		}
		cmd.Env = append(os.Environ(), childRoleEnv+"="+role)
		cmd.Stdout = os.Stdout
		// The command does not read a pipe from the wrapper: it must
		// outlive a killed wrapper, until a test stops it.
		cmd.Env = append(cmd.Env, idleUntilKilledEnv+"=1")
		if err := inst.StartCommand(cmd); err != nil {
			fmt.Println("error", err)
			return 3
		}
		fmt.Printf("wrapping %d\n", cmd.Process.Pid)
		err = cmd.Wait()
		inst.Release()
		fmt.Printf("command ended %v\n", err)
		return 0
	case roleSquat:
		for key := range strings.SplitSeq(os.Getenv("SI_KEY"), ",") {
			tok, err := nametoken.Claim(key)
			if err != nil {
				fmt.Println("error", err)
				return 1
			}
			defer tok.Close()
		}
		fmt.Printf("ready %d\n", os.Getpid())
		io.Copy(io.Discard, os.Stdin)
		return 0
	case roleIdle:
		if os.Getenv(closeTokenEnv) != "" {
			os.NewFile(4, "token").Close()
		}
		fmt.Printf("ready %d\n", os.Getpid())
		if os.Getenv(idleUntilKilledEnv) != "" {
			// Ended by a signal from the test; the timer only bounds a
			// leak if the test fails before that.
			<-time.After(2 * time.Minute)
			return 0
		}
		io.Copy(io.Discard, os.Stdin)
		return 0
	}
	if code, ok := runWaitChild(role, dir, name); ok {
		return code
	}
	fmt.Fprintln(os.Stderr, "unknown child role", role)
	return 2
}

// child is a re-executed test binary (see internal/testchild).
type child = testchild.Child

// startChild starts the test binary in role with the given lock directory
// and name, plus extra environment. It is killed when the test ends.
func startChild(t testing.TB, role, dir, name string, env ...string) *child {
	t.Helper()
	env = append([]string{"SI_DIR=" + dir, "SI_NAME=" + name}, env...)
	c := testchild.Start(t, testchild.CommandContext(t.Context(), childRoleEnv, role, env...))
	t.Logf("started child %d as %s", c.Pid, role)
	return c
}

// expectStopped checks how a roleHold child ended after a stop request:
// killed by SIGKILL if force, else a graceful exit 0 after its context was
// cancelled and it released the lock.
func expectStopped(t testing.TB, c *child, force bool) {
	t.Helper()
	if force {
		if code := c.ExitCode(); code != -1 {
			t.Fatalf("holder exit code %d, want killed by SIGKILL", code)
		}
		return
	}
	c.Expect("cancelled")
	c.Expect("released")
	if code := c.ExitCode(); code != 0 {
		t.Fatalf("holder exit code %d, want a graceful 0", code)
	}
}
