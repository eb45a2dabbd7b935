package singleinstance

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// StopCommand is the command line that stops the holder of a lock, shown in
// reports. It names the CLI of this module.
func StopCommand(name, lockDir string) string {
	cmd := "singleinstance kill " + name
	if def, err := DefaultLockDir(); err != nil || lockDir != def {
		cmd = "singleinstance --lock-dir " + shellQuote(lockDir) + " kill " + name
	}
	return cmd
}

// WriteHolder writes a human-readable description of h, one "key=value"
// per line, each line prefixed with indent.
func WriteHolder(w io.Writer, h *Holder, indent string) {
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
	line("executable", h.Executable)
	line("argv", quoteArgv(h.Argv))
	line("cwd", h.Cwd)
	line("user", h.User)
	line("host", h.Host)
	line("token", fmt.Sprint(h.Token))
	switch {
	case h.Process != nil:
		line("status", h.Process.Status)
		line("cpu", fmt.Sprintf("%.1f%%", h.Process.CPUPercent))
		line("memory", fmt.Sprintf("%.1f MB", float64(h.Process.MemoryRSS)/1e6))
	case h.Visible:
		line("status", "running")
	default:
		line("status", "not visible from here (another container, PID namespace or boot)")
	}
}

// Report returns the multi-line report that AcquireOrExit prints: who holds
// the lock and how to stop it. It never suggests deleting the lock file,
// which would let a second copy start beside the running one.
func (e *AlreadyRunningError) Report() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Another instance of %q is already running\n", e.Name)
	if e.Holder != nil {
		fmt.Fprintf(&b, "Running instance PID: %d\n", e.Holder.PID)
		b.WriteString("Instance details:\n")
		WriteHolder(&b, e.Holder, "  ")
	} else if e.HolderErr != nil {
		fmt.Fprintf(&b, "Holder details unavailable: %v\n", e.HolderErr)
	} else {
		b.WriteString("Holder details unavailable: it has not written them yet\n")
	}
	fmt.Fprintf(&b, "  lock=%s\n", e.LockPath)
	stop := e.StopCommand
	if stop == "" {
		dir := e.LockPath[:max(0, strings.LastIndexAny(e.LockPath, `/\`))]
		stop = StopCommand(e.Name, dir)
	}
	fmt.Fprintf(&b, "To stop it: %s (add --force to kill it)\n", stop)
	return b.String()
}
