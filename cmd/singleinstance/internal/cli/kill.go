package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/singleinstance/singleinstance"
	"github.com/singleinstance/singleinstance/termtext"
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

Over etcd (--etcd) the holder may run on any host: kill asks it to stop
through etcd (its "run" sends SIGTERM to the command) and waits the same
way. With --force, a holder that still holds the lock when the wait ends
is fenced: the lock is taken from it, its "run" kills the command, and no
one can take the lock until the holder is certain to have stopped (about
one --etcd-ttl); kill waits for that too.

Exit 0 if the holder was stopped, 1 if nothing was running or the lock was
still held when the wait ended, 3 if the holder could not be proven or seen
from here, or on any other error, 4 if etcd could not be reached.`,
		Args: nameArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.connect(cmd); err != nil {
				return err
			}
			return a.kill(cmd.Context(), args[0], force, timeout)
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "kill with SIGKILL instead of asking with SIGTERM (etcd: fence after the wait)")
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
	st, err := singleinstance.StatusContext(ctx, name, append(opts, singleinstance.WithLiveStats(false))...)
	if err != nil {
		return failed(exitError, err)
	}
	if !st.Running {
		fmt.Fprintln(a.stdout, runningLine(name, false))
		return withCode(exitNo, nil)
	}
	if a.chatty() {
		a.announceKill(st, force, timeout)
	}
	killed, err := singleinstance.KillRunningContext(ctx, name, force, opts...)
	switch {
	case errors.Is(err, singleinstance.ErrStopTimeout):
		fmt.Fprintf(a.stderr, "Failed to terminate '%s': %v\n", name, err)
		return withCode(exitNo, nil)
	case err != nil:
		fmt.Fprintf(a.stderr, "Failed to terminate '%s': %v\n", name, err)
		return withCode(unavailableOr(exitError, err), nil)
	case !killed:
		fmt.Fprintln(a.stdout, runningLine(name, false))
		return withCode(exitNo, nil)
	}
	how := ""
	switch h := st.Holder; {
	case h != nil && a.backend != nil:
		how = fmt.Sprintf(" (pid %d on %s)", h.PID, termtext.Text(h.Host))
	case h != nil:
		how = fmt.Sprintf(" (pid %d, %s)", h.PID, signalName(force))
	}
	fmt.Fprintf(a.stdout, "Application '%s' terminated%s\n", name, how)
	return nil
}

// announceKill says on stderr what kill is about to do.
func (a *app) announceKill(st *singleinstance.State, force bool, timeout time.Duration) {
	wait := durationFlag{&timeout}
	if a.backend == nil {
		fmt.Fprintf(a.stderr, "Stopping '%s'%s with %s; waiting up to %s for the lock to be released\n",
			st.Name, a.describeHolder(st.Holder), signalName(force), wait)
		return
	}
	then := ""
	if force {
		then = ", then fencing it"
	}
	fmt.Fprintf(a.stderr, "Asking '%s'%s to stop through %s; waiting up to %s for the lock to be released%s\n",
		st.Name, a.describeHolder(st.Holder), a.backend, wait, then)
}

// describeHolder is " (pid N: argv)", with the host over etcd, or "" when
// unknown.
func (a *app) describeHolder(h *singleinstance.Holder) string {
	switch {
	case h == nil:
		return ""
	case a.backend != nil:
		return fmt.Sprintf(" (pid %d on %s: %s)", h.PID, termtext.Text(h.Host), termtext.Argv(h.Argv))
	default:
		return fmt.Sprintf(" (pid %d: %s)", h.PID, termtext.Argv(h.Argv))
	}
}
