package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"sync"
	"time"

	"github.com/singleinstance/singleinstance"
	"github.com/spf13/cobra"
)

// lostGrace is how long run lets its command stop after SIGTERM, once the
// lock is lost, before it sends SIGKILL.
const lostGrace = 5 * time.Second

// replaceGrace is how long run --replace lets the running holder stop
// after SIGTERM before it sends SIGKILL.
const replaceGrace = 10 * time.Second

func (a *app) runCommand() *cobra.Command {
	var wait time.Duration
	var conflictCode int
	var replace bool
	cmd := &cobra.Command{
		Use:   "run [--wait DURATION] [--conflict-exit-code N] [--replace] NAME -- COMMAND [ARGS...]",
		Short: "Run COMMAND while holding the lock NAME; refuse if another copy holds it",
		Long: `run takes the lock NAME and runs COMMAND with this terminal's stdin,
stdout and stderr, holding the lock exactly as long as COMMAND runs. The
command inherits the lock: if singleinstance itself is killed (even with
SIGKILL), COMMAND keeps running and keeps the lock, as with flock(1), and a
second copy still cannot start. The .pid and .info files describe COMMAND
(its PID and argv), so "kill NAME" stops COMMAND itself.

SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 are forwarded to
COMMAND (SIGINT and SIGQUIT are not forwarded when stdin is a terminal: the
terminal already sends them to both). A signal that arrives while run still
waits for the lock ends the wait with exit 128+N.

If another instance holds the lock, run prints the holder's details to
stderr and exits with --conflict-exit-code (default 1). --wait DURATION
waits that long for the holder to go first (--wait without a value or 0s:
not at all; -1 or forever: without limit). --replace stops the running
holder (SIGTERM, SIGKILL after 10s, as "kill" does) and takes over: a
deploy-friendly restart. If the lock is lost while COMMAND runs (its lock
file deleted and taken by another process), COMMAND gets SIGTERM, then
SIGKILL after 5s, and run exits 121.

run exits with COMMAND's exit code, 128+N if it died of signal N, 125 if
the lock could not be taken, 126 if COMMAND cannot be executed and 127 if
it was not found.`,
		Args: func(cmd *cobra.Command, args []string) error {
			dash := cmd.ArgsLenAtDash()
			switch {
			case len(args) == 0:
				return usagef("missing NAME and -- COMMAND")
			case dash < 0:
				return usagef("missing -- between NAME and COMMAND")
			case dash != 1:
				return usagef("run takes exactly one NAME before --, got %d", dash)
			case len(args) < 2:
				return usagef("missing COMMAND after --")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if conflictCode < 0 || conflictCode > 255 {
				return usagef("--conflict-exit-code must be 0-255, not %d", conflictCode)
			}
			return a.run(cmd.Context(), args[0], args[1:], wait, conflictCode, replace)
		},
	}
	f := cmd.Flags()
	f.Var(durationFlag{&wait}, "wait", "wait up to DURATION for the running instance to exit (forever: no limit)")
	f.Lookup("wait").NoOptDefVal = "0s"
	f.IntVar(&conflictCode, "conflict-exit-code", exitNo, "exit code when another instance holds the lock")
	f.BoolVar(&replace, "replace", false, "stop the running instance, then take over")
	return cmd
}

// signalledError ends a wait for the lock when a signal arrives.
type signalledError struct{ sig os.Signal }

func (e signalledError) Error() string { return "interrupted by " + e.sig.String() }

func (a *app) run(ctx context.Context, name string, argv []string, wait time.Duration, conflictCode int, replace bool) error {
	if ctx == nil {
		ctx = context.Background()
	}
	fw := newForwarder(a.stdin)
	defer fw.stop()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	fw.onSignalBeforeLock(func(sig os.Signal) { cancel(signalledError{sig}) })

	opts := a.options()
	if replace {
		if err := a.replaceHolder(ctx, name); err != nil {
			return err
		}
	}
	inst, err := singleinstance.NewContext(ctx, name, opts...)
	if errors.Is(err, singleinstance.ErrAlreadyRunning) && wait != 0 && ctx.Err() == nil {
		if a.chatty() {
			var conflict *singleinstance.AlreadyRunningError
			errors.As(err, &conflict)
			fmt.Fprintf(a.stderr, "Waiting for '%s'%s to exit\n", name, describeHolder(conflict.Holder))
		}
		inst, err = singleinstance.NewContext(ctx, name, append(opts, singleinstance.WithTimeout(wait))...)
	}
	if err != nil {
		var sig signalledError
		if errors.As(context.Cause(ctx), &sig) {
			fmt.Fprintf(a.stderr, "singleinstance: %s while waiting for '%s'\n", sig.sig, name)
			return withCode(128+signalNumber(sig.sig), nil)
		}
		var conflict *singleinstance.AlreadyRunningError
		if errors.As(err, &conflict) {
			io.WriteString(a.stderr, conflict.Report())
			return withCode(conflictCode, nil)
		}
		return withCode(exitRunFailed, err)
	}
	defer inst.Release()
	fw.locked()
	var sig signalledError
	if errors.As(context.Cause(ctx), &sig) {
		// Signalled after the lock was taken but before signals were
		// queued for the command: do not start it.
		return withCode(128+signalNumber(sig.sig), nil)
	}

	c := exec.Command(argv[0], argv[1:]...)
	c.Stdin, c.Stdout, c.Stderr = a.stdin, a.stdout, a.stderr
	if err := inst.StartCommand(c); err != nil {
		switch {
		case errors.Is(err, exec.ErrNotFound), errors.Is(err, fs.ErrNotExist):
			return withCode(exitNotFound, fmt.Errorf("%s: command not found", argv[0]))
		case errors.Is(err, fs.ErrPermission), errors.Is(err, exec.ErrDot):
			return withCode(exitNoExec, fmt.Errorf("%s: cannot execute: %w", argv[0], err))
		}
		return withCode(exitRunFailed, err)
	}
	fw.started(c.Process)

	var lost bool
	var mu sync.Mutex
	done := make(chan struct{})
	go func() {
		select {
		case <-inst.Lost():
		case <-done:
			return
		}
		mu.Lock()
		lost = true
		mu.Unlock()
		fmt.Fprintf(a.stderr, "singleinstance: lock '%s' lost (%v); stopping the command\n", name, inst.Err())
		c.Process.Signal(terminateSignal)
		t := time.NewTimer(lostGrace)
		defer t.Stop()
		select {
		case <-t.C:
			c.Process.Kill()
		case <-done:
		}
	}()
	c.Wait()
	close(done)
	mu.Lock()
	defer mu.Unlock()
	if lost {
		return withCode(exitLockLost, nil)
	}
	return withCode(exitCodeOf(c.ProcessState), nil)
}

// replaceHolder stops the running holder of name, gracefully first.
func (a *app) replaceHolder(ctx context.Context, name string) error {
	opts := append(a.options(), singleinstance.WithStopTimeout(replaceGrace))
	st, err := singleinstance.Status(name, append(opts, singleinstance.WithLiveStats(false))...)
	if err != nil {
		return withCode(exitRunFailed, err)
	}
	if !st.Running {
		return nil
	}
	if a.chatty() {
		fmt.Fprintf(a.stderr, "Replacing '%s'%s: SIGTERM, SIGKILL after %s\n", name, describeHolder(st.Holder), replaceGrace)
	}
	_, err = singleinstance.KillRunningContext(ctx, name, false, opts...)
	if errors.Is(err, singleinstance.ErrStopTimeout) {
		_, err = singleinstance.KillRunningContext(ctx, name, true, opts...)
	}
	if err != nil {
		return withCode(exitRunFailed, fmt.Errorf("cannot replace the running instance: %w", err))
	}
	return nil
}
