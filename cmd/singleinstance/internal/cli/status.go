package cli

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/singleinstance/singleinstance"
	"github.com/singleinstance/singleinstance/cmd/singleinstance/internal/cmdline"
	"github.com/singleinstance/singleinstance/termtext"
)

// statusJSON is the stable JSON form of a lock's state, printed by
// status --json, check --json and (as an array) list --json. name, running,
// state, lock_dir and lock_path are always present (the last two empty over
// etcd, which names backend and key instead); the holder's fields (see
// singleinstance.Holder) appear at the top level while it runs.
type statusJSON struct {
	Name        string    `json:"name"`
	Running     bool      `json:"running"`
	State       string    `json:"state"` // "running", "not_running", "stale"; list also "error"
	LockDir     string    `json:"lock_dir"`
	LockPath    string    `json:"lock_path"`
	Backend     string    `json:"backend,omitempty"`
	Key         string    `json:"key,omitempty"`
	Fenced      bool      `json:"fenced,omitempty"`
	FencedUntil time.Time `json:"fenced_until,omitzero"`
	Verified    bool      `json:"verified"`
	Orphaned    bool      `json:"orphaned,omitempty"`
	HolderError string    `json:"holder_error,omitempty"`
	// Error says why list could not examine the entry (state "error").
	Error         string  `json:"error,omitempty"`
	UptimeSeconds float64 `json:"uptime_seconds,omitempty"`
	// LastPID is a stale entry's last holder (list only), from its .pid
	// file.
	LastPID int `json:"last_pid,omitempty"`
	// StopCommand is the command line that stops the holder, in run's
	// conflict report only.
	StopCommand string `json:"stop_command,omitempty"`
	// Holding lists the processes that hold the lock (Linux): the holder,
	// its wrapper and what the command started that still runs.
	Holding []singleinstance.HoldingProcess `json:"holding,omitempty"`
	*HolderJSON
}

// HolderJSON is the holder's stored description followed by what was
// observed of its process, at the top level of statusJSON. It is exported
// so that encoding/json flattens it there.
type HolderJSON struct {
	*singleinstance.Holder
	Visible bool                         `json:"visible"`
	Exited  bool                         `json:"exited,omitempty"`
	Process *singleinstance.ProcessStats `json:"process,omitempty"`
}

func stateWord(s *singleinstance.State) string {
	switch {
	case s.Running:
		return "running"
	case s.Stale:
		return "stale"
	default:
		return "not_running"
	}
}

func toJSON(s *singleinstance.State) statusJSON {
	if s.Error != "" {
		return statusJSON{Name: s.Name, State: "error", LockDir: s.LockDir, LockPath: s.LockPath, Error: s.Error}
	}
	j := statusJSON{Name: s.Name, Running: s.Running, State: stateWord(s), LockDir: s.LockDir,
		LockPath: s.LockPath, Backend: s.Backend, Key: s.Key, Fenced: s.Fenced, FencedUntil: s.FencedUntil,
		Verified: s.Verified, Orphaned: s.Orphaned, HolderError: s.HolderError, Holding: s.Holding}
	if s.Running && s.Holder != nil {
		j.HolderJSON = &HolderJSON{Holder: s.Holder, Visible: s.Visible, Exited: s.Exited, Process: s.Process}
		if !s.Holder.Started.IsZero() {
			j.UptimeSeconds = time.Since(s.Holder.Started).Round(time.Millisecond).Seconds()
		}
	}
	return j
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// runningLine is the old module's one-line answer.
func runningLine(name string, running bool) string {
	if running {
		return fmt.Sprintf("Application '%s': RUNNING", name)
	}
	return fmt.Sprintf("Application '%s': NOT RUNNING", name)
}

func runningCode(running bool) error {
	if running {
		return nil
	}
	return withCode(exitNo, nil)
}

func (a *app) checkCommand() *cmdline.Command {
	return &cmdline.Command{
		Use:   "check NAME",
		Short: "Tell whether NAME is running (exit 0) or not (exit 1)",
		Long: `check prints "Application 'NAME': RUNNING" and exits 0, or
"Application 'NAME': NOT RUNNING" and exits 1. It takes no lock and changes
no file; only the kernel's lock counts, never a PID file. With --json it
prints the same object as "status --json" (without live CPU and memory
figures). Exit 3 if it could not tell (bad name, unreadable lock directory),
4 if etcd (--etcd) could not be reached: then it says neither.`,
		Args: nameArg,
		Run: func(cmd *cmdline.Command, args []string) error {
			if err := a.connect(cmd); err != nil {
				return err
			}
			return a.check(args[0])
		},
	}
}

func (a *app) check(name string) error {
	if a.json {
		st, err := singleinstance.Status(name, append(a.options(), singleinstance.WithLiveStats(false))...)
		if err != nil {
			return failed(exitError, err)
		}
		if err := writeJSON(a.stdout, toJSON(st)); err != nil {
			return err
		}
		return runningCode(st.Running)
	}
	running, err := singleinstance.CheckRunning(name, a.options()...)
	if err != nil {
		return failed(exitError, err)
	}
	fmt.Fprintln(a.stdout, runningLine(name, running))
	return runningCode(running)
}

func (a *app) statusCommand() *cmdline.Command {
	return &cmdline.Command{
		Use:   "status NAME",
		Short: "Show who holds NAME: PID, start time, command, user, host, token, CPU, memory",
		Long: `status prints whether NAME is running and, if so, everything known about
its holder: PID, start time and uptime, executable, argv, working directory,
user, host, fencing token, process state, CPU and memory, and the lock file.
It takes no lock and changes no file. Exit 0 if running, 1 if not, 3 on error,
4 if etcd (--etcd) could not be reached.

Over etcd it shows the holder's host, and the backend and key instead of
the lock file; a holder stopped by "kill --force" shows as fenced until
no one can doubt it has stopped.

With --json it prints one object. Always present: name, running (boolean),
state ("running", "not_running" or "stale"), lock_dir, lock_path, verified.
While running, also: pid, started, acquired_at, executable, argv, cwd, user,
uid, host, token, start_id, boot_id, pid_namespace, owner_pid (when started
by "run"), lock_device, lock_inode, visible, uptime_seconds and process
(status, cpu_percent, memory_rss) when visible. holder_error explains a
missing or unreadable description. Over etcd lock_dir and lock_path are
empty, and backend, key, and while fenced, fenced and fenced_until appear.`,
		Args: nameArg,
		Run: func(cmd *cmdline.Command, args []string) error {
			if err := a.connect(cmd); err != nil {
				return err
			}
			st, err := singleinstance.StatusContext(cmd.Context(), args[0], a.options()...)
			if err != nil {
				return failed(exitError, err)
			}
			if a.json {
				if err := writeJSON(a.stdout, toJSON(st)); err != nil {
					return err
				}
			} else {
				writeStatus(a.stdout, st)
			}
			return runningCode(st.Running)
		},
	}
}

// timeFormat is how status shows times, as a conflict report does.
const timeFormat = "2006-01-02T15:04:05.000Z07:00"

// writeHolder writes h and what st observed of it, one "key=value" per
// line, as a conflict report (AlreadyRunningError.Report) does, every value
// escaped for a terminal.
func writeHolder(w io.Writer, h *singleinstance.Holder, o singleinstance.Observed, indent string) {
	line := func(k, v string) {
		if v != "" {
			fmt.Fprintf(w, "%s%s=%s\n", indent, k, v)
		}
	}
	line("pid", fmt.Sprint(h.PID))
	if !h.Started.IsZero() {
		line("started", h.Started.Format(timeFormat)+" (up "+time.Since(h.Started).Round(time.Second).String()+")")
	}
	line("executable", termtext.Text(h.Executable))
	line("argv", termtext.Argv(h.Argv))
	line("cwd", termtext.Text(h.Cwd))
	line("user", termtext.Text(h.User))
	line("host", termtext.Text(h.Host))
	line("token", fmt.Sprint(h.Token))
	switch {
	case o.Process != nil:
		line("status", termtext.Text(o.Process.Status))
		line("cpu", fmt.Sprintf("%.1f%%", o.Process.CPUPercent))
		line("memory", fmt.Sprintf("%.1f MB", float64(o.Process.MemoryRSS)/1e6))
	case o.Visible:
		line("status", "running")
	case o.Exited:
		line("status", "exited; the processes of its tree that hold the name are listed as holding")
	default:
		line("status", "not visible from here (another container, PID namespace or boot)")
	}
}

// writeStatus prints st as text. Everything read from the lock's files or
// the backend is escaped for the terminal (package termtext).
func writeStatus(w io.Writer, st *singleinstance.State) {
	fmt.Fprintln(w, runningLine(st.Name, st.Running))
	if st.Running && st.Holder != nil {
		writeHolder(w, st.Holder, st.Observed, "  ")
		if st.Holder.OwnerPID != 0 {
			fmt.Fprintf(w, "  started_by=singleinstance run (pid %d)\n", st.Holder.OwnerPID)
		}
		if !st.Verified && !st.Fenced {
			fmt.Fprintln(w, "  note=the description may be out of date: the holder has not confirmed it yet")
		}
	}
	if st.Running && st.Holder == nil && !st.Fenced {
		why := "it has not described itself yet"
		if st.HolderError != "" {
			why = st.HolderError
		}
		fmt.Fprintf(w, "  holder=unknown (%s)\n", termtext.Text(why))
	}
	if st.Orphaned {
		fmt.Fprintln(w, "  note=the holder's lock file was deleted or replaced; a holder that still runs restores it on its next check, processes left behind by one that ended hold the old file until they exit")
	}
	for _, p := range st.Holding {
		fmt.Fprintf(w, "  holding=%s\n", p)
	}
	if st.Fenced {
		// HolderError says when and until when.
		fmt.Fprintf(w, "  fenced=%s\n", termtext.Text(cmp.Or(st.HolderError, "until "+st.FencedUntil.Format(timeFormat))))
	}
	if st.Backend != "" {
		fmt.Fprintf(w, "  backend=%s\n", termtext.Text(st.Backend))
		fmt.Fprintf(w, "  key=%s\n", termtext.Text(st.Key))
	} else {
		fmt.Fprintf(w, "  lock=%s\n", termtext.Text(st.LockPath))
	}
	if !st.Running && st.Stale {
		fmt.Fprintln(w, "  stale=.pid/.info files from an earlier holder (harmless; the next holder replaces them)")
	}
}

// conflictJSON is run's conflict report as a status object: the holder
// that made run give up, and the command line that stops it. backend
// names the etcd cluster, if the lock is kept there.
func conflictJSON(e *singleinstance.AlreadyRunningError, backend string) statusJSON {
	j := statusJSON{Name: e.Name, Running: true, State: "running", LockPath: e.LockPath,
		Verified: e.Holder != nil, StopCommand: e.StopCommand}
	if e.Holder != nil {
		j.HolderJSON = &HolderJSON{Holder: e.Holder, Visible: e.Visible, Exited: e.Exited, Process: e.Process}
	}
	if key, ok := strings.CutPrefix(e.LockPath, "etcd:"); ok && backend != "" {
		j.LockPath, j.Backend, j.Key = "", backend, key
	} else if e.LockPath != "" {
		j.LockDir = filepath.Dir(e.LockPath)
	}
	if e.HolderErr != nil {
		j.HolderError = strings.TrimPrefix(e.HolderErr.Error(), "singleinstance: ")
	}
	if e.Holder != nil && !e.Holder.Started.IsZero() {
		j.UptimeSeconds = time.Since(e.Holder.Started).Round(time.Millisecond).Seconds()
	}
	return j
}

// backendName names the etcd cluster that holds the locks, or is "" for
// file locks.
func (a *app) backendName() string {
	if a.backend == nil {
		return ""
	}
	return fmt.Sprint(a.backend)
}
