package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/singleinstance/singleinstance"
	"github.com/spf13/cobra"
)

func (a *app) listCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List every NAME in the lock directory (or etcd) with its state",
		Long: `list prints a table of every NAME that has a .lock, .pid or .info file in
the lock directory: RUNNING, NOT RUNNING, or STALE (files left by a holder
that is gone; harmless). With --json it prints an array of "status --json"
objects (without live CPU and memory figures). It changes nothing.

Over etcd (--etcd) it lists every NAME held under the prefix, from any
host: RUNNING, or FENCED (stopped by "kill --force"; no one can take it
yet), with the holder's host.

Exit 0, or 3 if the lock directory cannot be read, 4 if etcd could not be
reached.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.connect(cmd); err != nil {
				return err
			}
			if a.backend != nil {
				return a.listBackend(cmd.Context())
			}
			return a.list()
		},
	}
}

func (a *app) lockDirPath() (string, error) {
	if a.lockDir != "" {
		return a.lockDir, nil
	}
	if d := os.Getenv(singleinstance.LockDirEnv); d != "" {
		return d, nil
	}
	return singleinstance.DefaultLockDir()
}

// names returns the lock names that have files in dir, sorted.
func names(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		for _, ext := range []string{".lock", ".pid", ".info"} {
			if n, ok := strings.CutSuffix(e.Name(), ext); ok && singleinstance.ValidateName(n) == nil {
				out = append(out, n)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func (a *app) list() error {
	dir, err := a.lockDirPath()
	if err != nil {
		return withCode(exitError, err)
	}
	ns, err := names(dir)
	if err != nil {
		return withCode(exitError, err)
	}
	opts := append(a.options(), singleinstance.WithLiveStats(false))
	states := make([]*singleinstance.State, 0, len(ns))
	for _, n := range ns {
		st, err := singleinstance.Status(n, opts...)
		if err != nil {
			return withCode(exitError, err)
		}
		states = append(states, st)
	}
	if a.json {
		return writeJSONStates(a.stdout, states)
	}
	if len(states) == 0 {
		fmt.Fprintf(a.stderr, "no locks in %s\n", dir)
		return nil
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTATE\tPID\tSTARTED\tTOKEN\tCOMMAND")
	for _, st := range states {
		state, pid, started, token, command := "NOT RUNNING", "-", "-", "-", "-"
		if st.Stale {
			state = "STALE"
		}
		if st.Running {
			state = "RUNNING"
			if h := st.Holder; h != nil {
				pid = fmt.Sprint(h.PID)
				started = h.Started.Format(time.DateTime)
				token = fmt.Sprint(h.Token)
				command = singleinstance.EscapeArgv(h.Argv)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", singleinstance.EscapeText(st.Name), state, pid, started, token, command)
	}
	return tw.Flush()
}

// listBackend is list over etcd.
func (a *app) listBackend(ctx context.Context) error {
	states, err := singleinstance.List(ctx, a.options()...)
	if err != nil {
		return failed(exitError, err)
	}
	if a.json {
		return writeJSONStates(a.stdout, states)
	}
	if len(states) == 0 {
		fmt.Fprintf(a.stderr, "no locks in %s\n", a.backend)
		return nil
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTATE\tHOST\tPID\tSTARTED\tTOKEN\tCOMMAND")
	for _, st := range states {
		state, host, pid, started, token, command := "NOT RUNNING", "-", "-", "-", "-", "-"
		if st.Running {
			state = "RUNNING"
			if st.Fenced {
				state = "FENCED"
			}
			if h := st.Holder; h != nil {
				host = cmp.Or(singleinstance.EscapeText(h.Host), "-")
				pid = fmt.Sprint(h.PID)
				started = h.Started.Format(time.DateTime)
				token = fmt.Sprint(h.Token)
				command = singleinstance.EscapeArgv(h.Argv)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", singleinstance.EscapeText(st.Name), state, host, pid, started, token, command)
	}
	return tw.Flush()
}

// writeJSONStates prints states as an array of status objects.
func writeJSONStates(w io.Writer, states []*singleinstance.State) error {
	out := make([]statusJSON, len(states))
	for i, st := range states {
		out[i] = toJSON(st)
	}
	return writeJSON(w, out)
}
