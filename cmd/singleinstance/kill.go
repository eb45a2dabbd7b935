package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/singleinstance/singleinstance"
	"github.com/spf13/cobra"
)

func (a *app) killCommand() *cobra.Command {
	var force bool
	timeout := singleinstance.DefaultStopTimeout
	cmd := &cobra.Command{
		Use:   "kill [--force] [--timeout DURATION] NAME",
		Short: "Stop the process that holds NAME and wait until the lock is free",
		Long: `kill sends SIGTERM (SIGKILL with --force; on Windows the process is
terminated either way) to the process that holds NAME, then waits until the
lock is free, at most --timeout (default 10s; 0 does not wait; forever has
no limit). It signals only a process it has proven to hold the lock: a PID
file naming some other process, a reused PID or a holder in another
container is never signalled.

Exit 0 if the holder was stopped, 1 if nothing was running or the lock was
still held when the wait ended, 3 if the holder could not be proven or seen
from here, or on any other error.`,
		Args: nameArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.kill(cmd.Context(), args[0], force, timeout)
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "kill with SIGKILL instead of asking with SIGTERM")
	cmd.Flags().Var(durationFlag{&timeout}, "timeout", "how long to wait for the lock to be freed (default 10s)")
	return cmd
}

func signalName(force bool) string {
	if force {
		return "SIGKILL"
	}
	return "SIGTERM"
}

func (a *app) kill(ctx context.Context, name string, force bool, timeout time.Duration) error {
	if ctx == nil {
		ctx = context.Background()
	}
	opts := append(a.options(), singleinstance.WithStopTimeout(timeout))
	st, err := singleinstance.Status(name, append(opts, singleinstance.WithLiveStats(false))...)
	if err != nil {
		return withCode(exitError, err)
	}
	if !st.Running {
		fmt.Fprintln(a.stdout, runningLine(name, false))
		return withCode(exitNo, nil)
	}
	if a.chatty() {
		fmt.Fprintf(a.stderr, "Stopping '%s'%s with %s; waiting up to %s for the lock to be released\n",
			name, describeHolder(st.Holder), signalName(force), durationFlag{&timeout})
	}
	killed, err := singleinstance.KillRunningContext(ctx, name, force, opts...)
	switch {
	case errors.Is(err, singleinstance.ErrStopTimeout):
		fmt.Fprintf(a.stderr, "Failed to terminate '%s': %v\n", name, err)
		return withCode(exitNo, nil)
	case err != nil:
		fmt.Fprintf(a.stderr, "Failed to terminate '%s': %v\n", name, err)
		return withCode(exitError, nil)
	case !killed:
		fmt.Fprintln(a.stdout, runningLine(name, false))
		return withCode(exitNo, nil)
	}
	pid := ""
	if st.Holder != nil {
		pid = fmt.Sprintf(" (pid %d, %s)", st.Holder.PID, signalName(force))
	}
	fmt.Fprintf(a.stdout, "Application '%s' terminated%s\n", name, pid)
	return nil
}

// describeHolder is " (pid N: argv)" or "" when unknown.
func describeHolder(h *singleinstance.Holder) string {
	if h == nil {
		return ""
	}
	return fmt.Sprintf(" (pid %d: %s)", h.PID, strings.Join(h.Argv, " "))
}
