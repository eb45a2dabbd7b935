package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/singleinstance/singleinstance"
	"github.com/singleinstance/singleinstance/cmd/singleinstance/internal/cmdline"
	"github.com/singleinstance/singleinstance/termtext"
)

func (a *app) killCommand() *cmdline.Command {
	var force bool
	timeout := singleinstance.DefaultStopTimeout
	cmd := &cmdline.Command{
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

With --json it prints one object on stdout: {"name", "stopped" (boolean),
"pids" (the processes that held NAME when kill looked; a run wrapper among
them is not signalled itself, its command is), "signal"
(SIGTERM or SIGKILL; over etcd, the SIGTERM that the holder's "run" sends,
and "host")}, with "error" when the holder could not be stopped.

Exit 0 if the holder was stopped, 1 if nothing was running or the lock was
still held when the wait ended, 3 if the holder could not be proven or seen
from here, or on any other error, 4 if etcd could not be reached.`,
		Args: nameArg,
		Run: func(cmd *cmdline.Command, args []string) error {
			if err := a.connect(cmd); err != nil {
				return err
			}
			return a.kill(cmd.Context(), args[0], force, timeout)
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "kill with SIGKILL instead of asking with SIGTERM (etcd: fence after the wait)")
	cmd.Flags().Var(durationFlag{&timeout}, "timeout", "how long to wait for the lock to be freed (0: do not wait; forever: no limit)")
	return cmd
}

func signalName(force bool) string {
	if force {
		return "SIGKILL"
	}
	return "SIGTERM"
}

// killJSON is the result of kill --json.
type killJSON struct {
	Name    string `json:"name"`
	Stopped bool   `json:"stopped"`
	PIDs    []int  `json:"pids"`
	Signal  string `json:"signal"`
	Host    string `json:"host,omitempty"`
	Error   string `json:"error,omitempty"`
}

// holdingPIDs are the processes that hold the name in st: the ones the
// kernel shows where it can tell, else the holder.
func holdingPIDs(st *singleinstance.State) []int {
	pids := []int{}
	for _, p := range st.Holding {
		pids = append(pids, p.PID)
	}
	if len(pids) == 0 && st.Holder != nil {
		pids = append(pids, st.Holder.PID)
	}
	slices.Sort(pids)
	return slices.Compact(pids)
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
	result := killJSON{Name: name, PIDs: []int{}}
	notRunning := func() error {
		if a.json {
			writeJSON(a.stdout, result)
		} else {
			fmt.Fprintln(a.stdout, runningLine(name, false))
		}
		return withCode(exitNo, nil)
	}
	if !st.Running {
		return notRunning()
	}
	result.PIDs, result.Signal = holdingPIDs(st), signalName(force)
	if a.backend != nil {
		result.Signal = signalName(false)
		if st.Holder != nil {
			result.Host = st.Holder.Host
		}
	}
	if a.chatty() {
		a.announceKill(st, force, timeout)
	}
	killed, err := singleinstance.KillRunningContext(ctx, name, force, opts...)
	if timeout == 0 && errors.Is(err, singleinstance.ErrStopTimeout) {
		// Asked not to wait: the signal went out, and the name is not
		// free yet. That is no success.
		if a.json {
			result.Error = "not waited for; it still holds the lock"
			return withCode(exitNo, writeJSON(a.stdout, result))
		}
		fmt.Fprintf(a.stdout, "Application '%s' was sent %s; not waiting (--timeout 0), it still holds the lock\n",
			name, result.Signal)
		return withCode(exitNo, nil)
	}
	if err != nil {
		fmt.Fprintf(a.stderr, "Failed to terminate '%s': %v\n", name, err)
		if !errors.Is(err, singleinstance.ErrStopTimeout) {
			// Failed before any signal went out (the holder not proven,
			// or no signal could be sent): nothing was signalled.
			result.PIDs, result.Signal = []int{}, ""
		}
		if a.json {
			result.Error = strings.TrimPrefix(err.Error(), "singleinstance: ")
			writeJSON(a.stdout, result)
		}
		if errors.Is(err, singleinstance.ErrStopTimeout) {
			return withCode(exitNo, nil)
		}
		return withCode(unavailableOr(exitError, err), nil)
	}
	if !killed {
		result.PIDs, result.Signal, result.Host = []int{}, "", ""
		return notRunning()
	}
	if a.json {
		result.Stopped = true
		return writeJSON(a.stdout, result)
	}
	how := ""
	switch h := st.Holder; {
	case h != nil && a.backend != nil:
		how = fmt.Sprintf(" (pid %d on %s)", h.PID, termtext.Text(h.Host))
	case h != nil && st.Visible:
		how = fmt.Sprintf(" (pid %d, %s)", h.PID, signalName(force))
	default:
		// The description names a process that has exited (a command
		// whose tree held on) or none: name the processes that held the
		// name, but for the wrapper, which kill does not signal.
		var pids []string
		for _, p := range result.PIDs {
			if h == nil || p != h.OwnerPID {
				pids = append(pids, strconv.Itoa(p))
			}
		}
		if len(pids) > 0 {
			word := "pid"
			if len(pids) > 1 {
				word = "pids"
			}
			how = fmt.Sprintf(" (%s %s, %s)", word, strings.Join(pids, ", "), signalName(force))
		}
	}
	fmt.Fprintf(a.stdout, "Application '%s' terminated%s\n", name, how)
	return nil
}

// announceKill says on stderr what kill is about to do.
func (a *app) announceKill(st *singleinstance.State, force bool, timeout time.Duration) {
	wait := durationFlag{&timeout}
	if a.backend == nil {
		a.say("stopping '%s'%s with %s; waiting up to %s for the lock to be released",
			st.Name, a.describeHolder(st.Holder), signalName(force), wait)
		return
	}
	then := ""
	if force {
		then = ", then fencing it"
	}
	a.say("asking '%s'%s to stop through %s; waiting up to %s for the lock to be released%s",
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
