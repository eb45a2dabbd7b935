package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/singleinstance/singleinstance"
	"github.com/spf13/cobra"
)

func (a *app) waitCommand() *cobra.Command {
	until := "free"
	timeout := forever
	cmd := &cobra.Command{
		Use:   "wait [--until free|held] [--timeout DURATION] NAME",
		Short: "Wait until NAME is free (default) or held",
		Long: `wait blocks until the lock NAME is free (--until free, the default) or
held (--until held), at most --timeout (default: no limit). It takes no
lock. Exit 0 when the state is reached, 1 on timeout, 3 on error, 4 if etcd
(--etcd) could not be reached. Over etcd it asks the cluster every 100ms.`,
		Args: nameArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			var wantHeld bool
			switch until {
			case "free":
			case "held":
				wantHeld = true
			default:
				return usagef("--until must be free or held, not %q", until)
			}
			if err := a.connect(cmd); err != nil {
				return err
			}
			return a.wait(cmd.Context(), args[0], wantHeld, timeout)
		},
	}
	cmd.Flags().StringVar(&until, "until", "free", "state to wait for: free or held")
	cmd.Flags().Var(durationFlag{&timeout}, "timeout", "give up after this long (default forever)")
	return cmd
}

func (a *app) wait(ctx context.Context, name string, wantHeld bool, timeout time.Duration) error {
	if timeout >= 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	if a.chatty() {
		running, err := singleinstance.CheckRunningContext(ctx, name, a.options()...)
		switch {
		case ctx.Err() != nil:
			return a.timedOut(name, wantHeld, timeout)
		case err != nil:
			return failed(exitError, err)
		case running == wantHeld:
			return nil
		}
		a.announceWait(name, wantHeld)
	}
	err := singleinstance.Wait(ctx, name, wantHeld, a.options()...)
	switch {
	case ctx.Err() != nil:
		return a.timedOut(name, wantHeld, timeout)
	case err != nil:
		return failed(exitError, err)
	}
	return nil
}

// timedOut reports a wait that timed out.
func (a *app) timedOut(name string, wantHeld bool, timeout time.Duration) error {
	state := "free"
	if wantHeld {
		state = "held"
	}
	fmt.Fprintf(a.stderr, "Timed out after %s waiting for '%s' to be %s\n", durationFlag{&timeout}, name, state)
	return withCode(exitNo, nil)
}

func (a *app) announceWait(name string, wantHeld bool) {
	if wantHeld {
		fmt.Fprintf(a.stderr, "Waiting for '%s' to be started\n", name)
		return
	}
	st, err := singleinstance.Status(name, append(a.options(), singleinstance.WithLiveStats(false))...)
	if err != nil {
		return
	}
	fmt.Fprintf(a.stderr, "Waiting for '%s'%s to exit\n", name, a.describeHolder(st.Holder))
}
