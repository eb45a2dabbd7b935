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
	"github.com/singleinstance/singleinstance/cmd/singleinstance/internal/cmdline"
	"github.com/singleinstance/singleinstance/termtext"
)

func (a *app) listCommand() *cmdline.Command {
	var all bool
	cmd := &cmdline.Command{
		Use:   "list",
		Short: "List every NAME in the lock directory (or etcd) with its state",
		Long: `list prints a table of every NAME that has a .lock, .pid or .info file in
the lock directory: RUNNING, NOT RUNNING, or STALE (.pid or .info files left
by a holder that is gone; harmless), with the holder's PID (for STALE, the
last holder's, from its .pid file), its start time (RFC 3339, with the
zone), fencing token and command. With --json it prints an array of
"status --json" objects (without live CPU and memory figures; a STALE entry
has "last_pid"). It changes nothing.

Names that are free and have neither a .pid nor an .info file are left
out unless --all is given: nothing runs under them and nothing is known
about them, as for a NAME that never ran or whose last holder released it
and removed its files (only NAME.lock is left, which keeps the fencing
token).

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
		Args: cmdline.NoArgs,
		Run: func(cmd *cmdline.Command, args []string) error {
			if err := a.connect(cmd); err != nil {
				return err
			}
			return a.list(cmd.Context(), all)
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "also list the names that are free and have no .pid or .info file")
	return cmd
}

// listTime is how list shows a start time: RFC 3339 in the local zone.
func listTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format(time.RFC3339)
}

// idle reports whether st is a name that is free and has no .pid or .info
// file, which list leaves out without --all.
func idle(st *singleinstance.State) bool {
	return st.Error == "" && !st.Running && !st.Stale
}

// list prints singleinstance.List: the names of the lock directory, or
// those held in etcd.
func (a *app) list(ctx context.Context, all bool) error {
	states, err := singleinstance.List(ctx, a.options()...)
	if err != nil {
		return failed(exitError, err)
	}
	if a.backend != nil {
		return a.listBackend(states)
	}
	shown := states[:0:0]
	for _, st := range states {
		if all || !idle(st) {
			shown = append(shown, st)
		}
	}
	if a.json {
		return writeJSONStates(a.stdout, shown)
	}
	if len(shown) == 0 {
		dir, _ := singleinstance.ResolveLockDir(a.options()...)
		if hidden := len(states); hidden > 0 {
			fmt.Fprintf(a.stderr, "nothing runs in %s; %d free names without .pid or .info files left out (--all lists them)\n",
				termtext.Text(dir), hidden)
		} else {
			fmt.Fprintf(a.stderr, "no locks in %s\n", termtext.Text(dir))
		}
		return nil
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTATE\tPID\tSTARTED\tTOKEN\tCOMMAND")
	for _, st := range shown {
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
				started = listTime(h.Started)
				token = fmt.Sprint(h.Token)
				command = termtext.Argv(h.Argv)
			}
		case st.Stale:
			state = "STALE"
			if st.LastPID != 0 {
				pid = fmt.Sprint(st.LastPID)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", name, state, pid, started, token, command)
	}
	return tw.Flush()
}

// listBackend prints the names held in etcd.
func (a *app) listBackend(states []*singleinstance.State) error {
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
				host = cmp.Or(termtext.Text(h.Host), "-")
				pid = fmt.Sprint(h.PID)
				started = listTime(h.Started)
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
		out[i].LastPID = st.LastPID
	}
	return writeJSON(w, out)
}
