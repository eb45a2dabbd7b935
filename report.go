package singleinstance

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// StopCommand is the command line that stops the holder of a lock, shown in
// reports. It names the CLI of this module.
func StopCommand(name, lockDir string) string {
	cmd := "singleinstance kill " + name
	if def, err := DefaultLockDir(); err != nil || lockDir != def {
		cmd = "singleinstance --lock-dir " + escapeWord(lockDir) + " kill " + name
	}
	return cmd
}

// EscapeText returns s fit to be shown on a terminal: s itself if it is
// valid UTF-8 made of printable characters only (see strconv.IsPrint;
// printable Unicode is kept) and does not start with a double quote, and
// otherwise s as a double-quoted Go string literal (strconv.Quote), in
// which line breaks, escape sequences, other control characters and
// invalid UTF-8 show as \n, \x1b, \u202e, \xff and the like. A value
// from another program (a holder's working directory, its user name) can
// thus neither forge output lines nor drive the terminal.
func EscapeText(s string) string {
	if printable(s) && !strings.HasPrefix(s, `"`) {
		return s
	}
	return strconv.Quote(s)
}

// EscapeArgv renders argv as words that a POSIX shell would split back
// into the same arguments, fit to be shown on a terminal: plain words
// bare, others in single quotes, and words with control characters,
// invalid UTF-8 or other unprintable characters in ANSI-C quotes
// ($'...', as bash, zsh and ksh read them), with every such character
// escaped.
func EscapeArgv(argv []string) string {
	words := make([]string, len(argv))
	for i, a := range argv {
		words[i] = escapeWord(a)
	}
	return strings.Join(words, " ")
}

// printable reports whether s is valid UTF-8 made of printable
// characters only.
func printable(s string) bool {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || !strconv.IsPrint(r) {
			return false
		}
		i += size
	}
	return true
}

// escapeWord quotes one word for a shell and a terminal (see EscapeArgv).
func escapeWord(s string) string {
	if printable(s) {
		return shellQuote(s)
	}
	var b strings.Builder
	b.WriteString("$'")
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\\' || r == '\'':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case strconv.IsPrint(r):
			b.WriteString(s[i : i+size])
		case r < utf8.RuneSelf:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r <= 0xffff:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
		i += size
	}
	b.WriteByte('\'')
	return b.String()
}

// WriteHolder writes a human-readable description of h, one "key=value"
// per line, each line prefixed with indent. Values are escaped for a
// terminal (see EscapeText and EscapeArgv): whatever the holder's command
// line or working directory holds, every line is one line, and no
// control character reaches w.
func WriteHolder(w io.Writer, h *Holder, indent string) {
	writeHolder(w, h, indent, "")
}

// tokenNote follows the token in a conflict report, which is read by
// people who may not know what it is.
const tokenNote = " (fencing token of the holder's acquisition)"

// writeHolder is WriteHolder with note after the token.
func writeHolder(w io.Writer, h *Holder, indent, note string) {
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
	line("executable", EscapeText(h.Executable))
	line("argv", EscapeArgv(h.Argv))
	line("cwd", EscapeText(h.Cwd))
	line("user", EscapeText(h.User))
	line("host", EscapeText(h.Host))
	line("token", fmt.Sprint(h.Token)+note)
	switch {
	case h.Process != nil:
		line("status", EscapeText(h.Process.Status))
		line("cpu", fmt.Sprintf("%.1f%%", h.Process.CPUPercent))
		line("memory", fmt.Sprintf("%.1f MB", float64(h.Process.MemoryRSS)/1e6))
	case h.Visible:
		line("status", "running")
	default:
		line("status", "not visible from here (another container, PID namespace or boot)")
	}
}

// Report returns the multi-line report that AcquireOrExit prints: who holds
// the lock and how to stop it. Text from the holder's files is escaped for
// a terminal, as WriteHolder does. It never suggests deleting the lock file,
// which would let a second copy start beside the running one.
func (e *AlreadyRunningError) Report() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Another instance of %q is already running\n", e.Name)
	if e.Holder != nil {
		b.WriteString("Instance details:\n")
		writeHolder(&b, e.Holder, "  ", tokenNote)
	} else if e.HolderErr != nil {
		fmt.Fprintf(&b, "Holder details unavailable: %s\n", EscapeText(e.HolderErr.Error()))
	} else {
		b.WriteString("Holder details unavailable: it has not written them yet\n")
	}
	fmt.Fprintf(&b, "  lock=%s\n", EscapeText(e.LockPath))
	stop := e.StopCommand
	if stop == "" {
		dir := e.LockPath[:max(0, strings.LastIndexAny(e.LockPath, `/\`))]
		stop = StopCommand(e.Name, dir)
	}
	fmt.Fprintf(&b, "To stop it: %s (add --force to kill it)\n", stop)
	return b.String()
}
