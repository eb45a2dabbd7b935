package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/singleinstance/singleinstance"
	"github.com/spf13/cobra"
)

func (a *app) listCommand() *cobra.Command {
	var all bool
	cmd := &cobra.Command{
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
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.connect(cmd); err != nil {
				return err
			}
			if a.backend != nil {
				return a.listBackend(cmd.Context())
			}
			return a.list(all)
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "also list the names that are free and have no .pid or .info file")
	return cmd
}

// lockDirPath is the lock directory of the file locks, resolved and
// checked as every command does (singleinstance.ResolveLockDir).
func (a *app) lockDirPath() (string, error) {
	return singleinstance.ResolveLockDir(a.options()...)
}

// lockExts are the suffixes of the files of a lock name.
var lockExts = []string{".lock", ".pid", ".info"}

// dirName is a NAME that has files in the lock directory.
type dirName struct {
	name    string
	path    string // one of its files
	invalid error  // why name is not a valid lock name, or nil
}

// names returns the names that have files in dir, sorted, valid or not.
// Other files are left out.
func names(dir string) ([]dirName, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	seen := make(map[string]bool)
	var out []dirName
	for _, e := range entries {
		for _, ext := range lockExts {
			if n, ok := strings.CutSuffix(e.Name(), ext); ok && !seen[n] {
				seen[n] = true
				out = append(out, dirName{name: n, path: filepath.Join(dir, e.Name()), invalid: singleinstance.ValidateName(n)})
			}
		}
	}
	slices.SortFunc(out, func(x, y dirName) int { return strings.Compare(x.name, y.name) })
	return out, nil
}

// listRow is one line of list: the state of a name, or why its entry in
// the lock directory could not be examined.
type listRow struct {
	name    string
	state   *singleinstance.State // nil when err is set
	err     error
	invalid bool // name is not a valid lock name
	path    string
	lastPID int // a STALE entry's last holder, from its .pid file; 0 if unknown
}

// idle reports whether the row is a name that is free and has no .pid or
// .info file, which list leaves out without --all.
func (r *listRow) idle() bool {
	return r.err == nil && !r.state.Running && !r.state.Stale
}

// maxPIDFile bounds how much of a .pid file list reads.
const maxPIDFile = 64

// lastPID reads the PID in the .pid file of name in dir, or returns 0. The
// file must be a regular file (not a FIFO, which would block).
func lastPID(dir, name string) int {
	path := filepath.Join(dir, name+".pid")
	if fi, err := os.Lstat(path); err != nil || !fi.Mode().IsRegular() {
		return 0
	}
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	buf := make([]byte, maxPIDFile)
	n, _ := io.ReadFull(f, buf)
	pid, err := strconv.Atoi(strings.TrimSpace(string(buf[:n])))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}

// listTime is how list shows a start time: RFC 3339 in the local zone.
func listTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format(time.RFC3339)
}

func (a *app) list(all bool) error {
	opts := append(a.options(), singleinstance.WithLiveStats(false))
	dir, err := a.lockDirPath()
	if err != nil {
		return failed(exitError, err)
	}
	ns, err := names(dir)
	if err != nil {
		return withCode(exitError, fmt.Errorf("singleinstance: read lock directory %s: %w", dir, err))
	}
	rows := make([]listRow, 0, len(ns))
	hidden := 0
	for _, n := range ns {
		r := listRow{name: n.name, path: n.path, invalid: n.invalid != nil, err: n.invalid}
		if n.invalid == nil {
			// An entry that cannot be examined (a lock file that is a
			// directory, a link or a FIFO, or unreadable) is flagged, and
			// the others are listed all the same.
			r.state, r.err = singleinstance.Status(n.name, opts...)
			r.path = filepath.Join(dir, n.name+".lock")
		}
		if !all && r.idle() {
			hidden++
			continue
		}
		if r.err == nil && r.state.Stale {
			r.lastPID = lastPID(dir, n.name)
		}
		rows = append(rows, r)
	}
	if a.json {
		out := make([]statusJSON, len(rows))
		for i, r := range rows {
			if r.err != nil {
				out[i] = statusJSON{Name: r.name, State: "error", LockDir: dir, LockPath: r.path,
					Error: strings.TrimPrefix(r.err.Error(), "singleinstance: ")}
			} else {
				out[i] = toJSON(r.state)
				out[i].LastPID = r.lastPID
			}
		}
		return writeJSON(a.stdout, out)
	}
	if len(rows) == 0 && hidden > 0 {
		fmt.Fprintf(a.stderr, "nothing runs in %s; %d free names without .pid or .info files left out (--all lists them)\n",
			singleinstance.EscapeText(dir), hidden)
		return nil
	}
	if len(rows) == 0 {
		fmt.Fprintf(a.stderr, "no locks in %s\n", singleinstance.EscapeText(dir))
		return nil
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTATE\tPID\tSTARTED\tTOKEN\tCOMMAND")
	for _, r := range rows {
		name := singleinstance.EscapeText(r.name)
		if r.invalid {
			name = strconv.Quote(r.name)
		}
		state, pid, started, token, command := "NOT RUNNING", "-", "-", "-", "-"
		switch st := r.state; {
		case r.err != nil:
			state, command = "ERROR", singleinstance.EscapeText(strings.TrimPrefix(r.err.Error(), "singleinstance: "))
		case st.Running:
			state = "RUNNING"
			if h := st.Holder; h != nil {
				pid = fmt.Sprint(h.PID)
				started = listTime(h.Started)
				token = fmt.Sprint(h.Token)
				command = singleinstance.EscapeArgv(h.Argv)
			}
		case st.Stale:
			state = "STALE"
			if r.lastPID != 0 {
				pid = fmt.Sprint(r.lastPID)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", name, state, pid, started, token, command)
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
				started = listTime(h.Started)
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
