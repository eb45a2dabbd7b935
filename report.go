package singleinstance

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/singleinstance/singleinstance/termtext"
)

// Report returns the multi-line report that AcquireOrExit prints: who holds
// the lock and how to stop it. Text from the holder's files is escaped for
// a terminal (see package termtext). It never suggests deleting the lock
// file, which would let a second copy start beside the running one.
func (e *AlreadyRunningError) Report() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Another instance of %q is already running\n", e.Name)
	if e.Holder != nil {
		b.WriteString("Instance details:\n")
		writeHolder(&b, e.Holder, e.Observed, "  ", tokenNote)
	} else if e.HolderErr != nil {
		fmt.Fprintf(&b, "Holder details unavailable: %s\n", termtext.Text(e.HolderErr.Error()))
	} else {
		b.WriteString("Holder details unavailable: it has not written them yet\n")
	}
	fmt.Fprintf(&b, "  lock=%s\n", termtext.Text(e.LockPath))
	stop := e.StopCommand
	if stop == "" {
		dir := e.LockPath[:max(0, strings.LastIndexAny(e.LockPath, `/\`))]
		stop = localStopCommand(e.Name, dir)
	}
	fmt.Fprintf(&b, "To stop it: %s (add --force to kill it)\n", stop)
	return b.String()
}

// localStopCommand is the command line of the singleinstance CLI that
// stops the holder of a file lock.
func localStopCommand(name, lockDir string) string {
	if def, err := DefaultLockDir(); err != nil || lockDir != def {
		return "singleinstance --lock-dir " + termtext.Word(lockDir) + " kill " + name
	}
	return "singleinstance kill " + name
}

// tokenNote follows the token in a conflict report, which is read by
// people who may not know what it is.
const tokenNote = " (fencing token of the holder's acquisition)"

// writeHolder writes h and what was observed of it, one "key=value" per
// line, each line prefixed with indent and every value escaped for a
// terminal, with note after the token.
func writeHolder(w io.Writer, h *Holder, o Observed, indent, note string) {
	line := func(k, v string) {
		if v != "" {
			fmt.Fprintf(w, "%s%s=%s\n", indent, k, v)
		}
	}
	line("pid", fmt.Sprint(h.PID))
	if !h.Started.IsZero() {
		line("started", h.Started.Format("2006-01-02T15:04:05.000Z07:00")+
			" (up "+time.Since(h.Started).Round(time.Second).String()+")")
	}
	line("executable", termtext.Text(h.Executable))
	line("argv", termtext.Argv(h.Argv))
	line("cwd", termtext.Text(h.Cwd))
	line("user", termtext.Text(h.User))
	line("host", termtext.Text(h.Host))
	if h.Token != 0 { // 0: described from the process alone, token unknown
		line("token", fmt.Sprint(h.Token)+note)
	}
	switch {
	case o.Process != nil:
		line("status", termtext.Text(o.Process.Status))
		line("cpu", fmt.Sprintf("%.1f%%", o.Process.CPUPercent))
		line("memory", fmt.Sprintf("%.1f MB", float64(o.Process.MemoryRSS)/1e6))
	case o.Visible:
		line("status", "running")
	case o.Exited:
		line("status", "exited; other processes of its tree hold the name")
	default:
		line("status", "not visible from here (another container, PID namespace or boot)")
	}
}
