package cli

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/singleinstance/singleinstance"
	"github.com/singleinstance/singleinstance/termtext"
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

An entry that cannot be examined (a NAME.lock that is a directory, a
symbolic link or a FIFO, a NAME that is not a valid lock name, a file
that cannot be read) is listed as ERROR with the reason in the last
column, or in --json with "state": "error" and "error"; the other names
are listed all the same. Such an entry never counts as running.

Over etcd (--etcd) it lists every NAME held under the prefix, from any
host: RUNNING, or FENCED (stopped by "kill --force"; no one can take it
yet), with the holder's host.

Exit 0 when the lock directory could be read, ERROR entries included; 3
if it cannot be read or is not a valid lock directory (relative, or a
default directory that is not private), as for every other command; 4 if
etcd could not be reached.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.connect(cmd); err != nil {
				return err
			}
			return a.list(cmd.Context())
		},
	}
}

// list prints singleinstance.List: a table of the lock directory's names,
// or of the names held in etcd.
func (a *app) list(ctx context.Context) error {
	states, err := singleinstance.List(ctx, a.options()...)
	if err != nil {
		return failed(exitError, err)
	}
	if a.json {
		return writeJSONStates(a.stdout, states)
	}
	if a.backend != nil {
		return a.listBackend(states)
	}
	if len(states) == 0 {
		dir, _ := singleinstance.ResolveLockDir(a.options()...)
		fmt.Fprintf(a.stderr, "no locks in %s\n", termtext.Text(dir))
		return nil
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTATE\tPID\tSTARTED\tTOKEN\tCOMMAND")
	for _, st := range states {
		name := termtext.Text(st.Name)
		if singleinstance.ValidateName(st.Name) != nil {
			name = strconv.Quote(st.Name)
		}
		state, pid, started, token, command := "NOT RUNNING", "-", "-", "-", "-"
		switch {
		case st.Error != "":
			state, command = "ERROR", termtext.Text(st.Error)
		case st.Running:
			state = "RUNNING"
			if h := st.Holder; h != nil {
				pid = fmt.Sprint(h.PID)
				started = h.Started.Format(time.DateTime)
				token = fmt.Sprint(h.Token)
				command = termtext.Argv(h.Argv)
			}
		case st.Stale:
			state = "STALE"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", name, state, pid, started, token, command)
	}
	return tw.Flush()
}

// listBackend prints the table of names held in etcd.
func (a *app) listBackend(states []*singleinstance.State) error {
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
				host = cmp.Or(termtext.Text(h.Host), "-")
				pid = fmt.Sprint(h.PID)
				started = h.Started.Format(time.DateTime)
				token = fmt.Sprint(h.Token)
				command = termtext.Argv(h.Argv)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", termtext.Text(st.Name), state, host, pid, started, token, command)
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
