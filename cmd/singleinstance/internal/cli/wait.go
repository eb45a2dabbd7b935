package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/singleinstance/singleinstance"
	"github.com/singleinstance/singleinstance/cmd/singleinstance/internal/cmdline"
)

func (a *app) waitCommand() *cmdline.Command {
	until := "free"
	timeout := forever
	cmd := &cmdline.Command{
		Use:   "wait [--until free|held] [--timeout DURATION] NAME",
		Short: "Wait until NAME is free (default) or held",
		Long: `wait blocks until the lock NAME is free (--until free, the default) or
held (--until held), at most --timeout (default: no limit). It takes no
lock. Exit 0 when the state is reached, 1 on timeout, 3 on error, 4 if etcd
(--etcd) could not be reached. Over etcd it asks the cluster every 100ms.

With --json it prints one object on stdout when the wait ends: {"name",
"state" ("free" or "held", as last seen), "reached" (boolean: false on
timeout), "waited_seconds"}.`,
		Args: nameArg,
		Run: func(cmd *cmdline.Command, args []string) error {
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
	cmd.Flags().Var(durationFlag{&timeout}, "timeout", "give up after this long (forever: no limit)")
	return cmd
}

// waitJSON is the result of wait --json.
type waitJSON struct {
	Name          string  `json:"name"`
	State         string  `json:"state"` // "free" or "held"
	Reached       bool    `json:"reached"`
	WaitedSeconds float64 `json:"waited_seconds"`
}

// heldWord is "held" or "free".
func heldWord(held bool) string {
	if held {
		return "held"
	}
	return "free"
}

func (a *app) wait(ctx context.Context, name string, wantHeld bool, timeout time.Duration) error {
	start := time.Now()
	err := a.waitFor(ctx, name, wantHeld, timeout)
	if !a.json {
		return err
	}
	switch code := codeOf(err); code {
	case exitOK, exitNo:
		reached := code == exitOK
		if werr := writeJSON(a.stdout, waitJSON{Name: name, State: heldWord(wantHeld == reached), Reached: reached,
			WaitedSeconds: time.Since(start).Round(time.Millisecond).Seconds()}); werr != nil {
			return werr
		}
	}
	return err
}

// waitFor is wait without the JSON result.
func (a *app) waitFor(ctx context.Context, name string, wantHeld bool, timeout time.Duration) error {
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
	fmt.Fprintf(a.stderr, "Timed out after %s waiting for '%s' to be %s\n", durationFlag{&timeout}, name, heldWord(wantHeld))
	return withCode(exitNo, nil)
}

func (a *app) announceWait(name string, wantHeld bool) {
	if wantHeld {
		a.say("waiting for '%s' to be started", name)
		return
	}
	st, err := singleinstance.Status(name, append(a.options(), singleinstance.WithLiveStats(false))...)
	if err != nil {
		return
	}
	a.say("waiting for '%s'%s to exit", name, a.describeHolder(st.Holder))
}
