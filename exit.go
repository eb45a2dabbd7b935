package singleinstance

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/singleinstance/singleinstance/termtext"
)

// Exit codes of AcquireOrExit.
const (
	// ExitAlreadyRunning is the exit status when another instance holds the
	// lock.
	ExitAlreadyRunning = 1
	// ExitLockError is the exit status when the lock could not be taken or
	// checked at all (bad name, unusable lock directory, I/O error).
	ExitLockError = 3
	// ExitUnavailable is the exit status when the lock backend (see
	// WithBackend) could not be reached, so nothing could be decided.
	ExitUnavailable = 4
)

// AcquireOrExit takes the lock called name, like New, or ends the process.
// If another
// instance holds the lock, it prints the holder's full details (PID, start
// time, executable, argv, cwd, user, host, token, process status, CPU and
// memory) and how to stop it to standard error, logs the conflict at error
// level through the logger given with WithLogger (if any), and exits with ExitAlreadyRunning.
// On any other error it prints and logs it and exits with ExitUnavailable
// if the lock backend could not be reached, else ExitLockError.
//
// Deferred functions do not run when it exits; call it first thing in main.
func AcquireOrExit(name string, opts ...Option) *Instance {
	inst, err := New(name, opts...)
	if err == nil {
		return inst
	}
	os.Exit(reportFailure(os.Stderr, newConfig(opts), name, err))
	panic("unreachable")
}

// reportFailure prints and logs err and returns the exit status for it.
func reportFailure(w io.Writer, cfg *config, name string, err error) int {
	var conflict *AlreadyRunningError
	if errors.As(err, &conflict) {
		io.WriteString(w, conflict.Report())
		attrs := []any{"name", name, "lock", conflict.LockPath}
		if h := conflict.Holder; h != nil {
			attrs = append(attrs, "pid", h.PID, "started", h.Started, "executable", h.Executable,
				"argv", termtext.Argv(h.Argv), "cwd", h.Cwd, "user", h.User, "host", h.Host, "token", h.Token)
			if p := conflict.Process; p != nil {
				attrs = append(attrs, "status", p.Status, "cpu_percent", p.CPUPercent, "memory_rss", p.MemoryRSS)
			}
		}
		if cfg.loggerSet {
			cfg.logger.Error("singleinstance: another instance is already running", attrs...)
		}
		return ExitAlreadyRunning
	}
	fmt.Fprintf(w, "Cannot start %q: %v\n", name, err)
	if cfg.loggerSet {
		cfg.logger.Error("singleinstance: cannot take the lock", "name", name, "err", err)
	}
	if errors.Is(err, ErrUnavailable) {
		return ExitUnavailable
	}
	return ExitLockError
}
