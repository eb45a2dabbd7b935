package cli

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/singleinstance/singleinstance"
	"github.com/singleinstance/singleinstance/internal/filelock"
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
(--etcd) could not be reached. Over etcd it asks the cluster every 100ms.

With --json it prints one object on stdout when the wait ends: {"name",
"state" ("free" or "held", as last seen), "reached" (boolean: false on
timeout), "waited_seconds"}.`,
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
	cmd.Flags().Var(durationFlag{&timeout}, "timeout", "give up after this long (forever: no limit)")
	return cmd
}

// waitPoll is how often wait looks when it has no file events: over etcd,
// which it asks every waitPoll, or when the lock file cannot be watched.
const waitPoll = 100 * time.Millisecond

// waitEventBound bounds each wait for file events. On Linux the kernel
// reports each change to a local lock file or its directory (or, while that
// does not exist, the directories above it), and wait's own looks at the
// lock cause none, so a waiting wait sleeps until the change. The bound
// covers what no event reports, such as a holder on another machine
// sharing a network file system, or the exit of a holder whose lock file
// was deleted; it costs one look per bound. Elsewhere the Watcher polls,
// more often than this.
const waitEventBound = 500 * time.Millisecond

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
	if a.backend != nil {
		return a.pollBackend(ctx, name, wantHeld, timeout)
	}
	dir, err := a.lockDirPath()
	if err != nil {
		return withCode(exitError, err)
	}
	var w *filelock.Watcher
	defer func() {
		if w != nil {
			w.Close()
		}
	}()
	announced := false
	for {
		running, err := singleinstance.CheckRunning(name, a.options()...)
		if err != nil {
			return failed(exitError, err)
		}
		if running == wantHeld {
			return nil
		}
		if !announced && a.chatty() {
			announced = true
			a.announceWait(name, wantHeld)
		}
		if w == nil {
			// Watch, then look again, so that no change between the two
			// goes unseen.
			if w, err = filelock.Watch(filepath.Join(dir, name+".lock")); err == nil {
				continue
			}
			w = nil
		}
		if w != nil {
			err = w.Wait(ctx, waitEventBound)
		} else {
			err = sleep(ctx, waitPoll)
		}
		if err != nil {
			return a.timedOut(name, wantHeld, timeout)
		}
	}
}

// pollBackend is wait over etcd, which it asks every waitPoll until the
// state is reached or ctx is done.
func (a *app) pollBackend(ctx context.Context, name string, wantHeld bool, timeout time.Duration) error {
	opts := append(a.options(), singleinstance.WithLiveStats(false))
	announced := false
	for {
		st, err := singleinstance.StatusContext(ctx, name, opts...)
		switch {
		case ctx.Err() != nil:
			return a.timedOut(name, wantHeld, timeout)
		case err != nil:
			return failed(exitError, err)
		case st.Running == wantHeld:
			return nil
		}
		if !announced && a.chatty() {
			announced = true
			a.announceWait(name, wantHeld)
		}
		if err := sleep(ctx, waitPoll); err != nil {
			return a.timedOut(name, wantHeld, timeout)
		}
	}
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

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
