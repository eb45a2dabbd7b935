package main

import (
	"errors"
	"fmt"
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
		Short: "List every NAME in the lock directory with its state",
		Long: `list prints a table of every NAME that has a .lock, .pid or .info file in
the lock directory: RUNNING, NOT RUNNING, or STALE (files left by a holder
that is gone; harmless). With --json it prints an array of "status --json"
objects (without live CPU and memory figures). It changes nothing.

Exit 0, or 3 if the lock directory cannot be read.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return a.list() },
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
		out := make([]statusJSON, len(states))
		for i, st := range states {
			out[i] = toJSON(st)
		}
		return writeJSON(a.stdout, out)
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
				command = strings.Join(h.Argv, " ")
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", st.Name, state, pid, started, token, command)
	}
	return tw.Flush()
}
