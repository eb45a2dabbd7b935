// Package mainflags gives a program the -check-instance, -kill-instance
// and -force-kill flags of the old main.py: Register before flag.Parse,
// and Flags.HandleAndExit after it.
package mainflags

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/singleinstance/singleinstance"
)

// Names of the flags that Register defines. The flag package accepts
// them with one dash or two.
const (
	flagCheck = "check-instance"
	flagKill  = "kill-instance"
	flagForce = "force-kill"
)

// exitUsage is the exit status Flags.Handle returns for flags that cannot
// be used together: the status the flag package uses for a bad command
// line.
const exitUsage = 2

// Flags holds the values of the flags that Register defines: the
// -check-instance, -kill-instance and -force-kill flags of the old
// main.py. Its zero value has none of them set; get one from Register.
type Flags struct {
	check bool
	kill  bool
	force bool
}

// Register defines three boolean flags on fs and returns the Flags
// that receive their values when fs is parsed:
//
//   - -check-instance: print whether another instance is running, and exit
//     with status 0 if it is, 1 if not;
//   - -kill-instance: stop the running instance (SIGTERM) and exit with
//     status 0 if it was stopped, 1 if not;
//   - -force-kill: with -kill-instance, kill it with SIGKILL instead.
//
// On Windows both kinds of stop end the holder with TerminateProcess. Pass
// flag.CommandLine to add the flags to a program's own command line, then
// call Flags.Handle or Flags.HandleAndExit after parsing.
//
// Register panics if fs is nil. Like any flag definition, it also
// panics if fs already defines one of the three names.
func Register(fs *flag.FlagSet) *Flags {
	if fs == nil {
		panic("mainflags: Register called with a nil *flag.FlagSet")
	}
	f := &Flags{}
	fs.BoolVar(&f.check, flagCheck, false,
		"print whether another instance is running and exit 0 if running, 1 if not")
	fs.BoolVar(&f.kill, flagKill, false,
		"stop the running instance (SIGTERM) and exit 0 if it was stopped, 1 if not")
	fs.BoolVar(&f.force, flagForce, false,
		"with -kill-instance: kill with SIGKILL")
	return f
}

// Handle carries out -check-instance or -kill-instance for the lock called
// name, with opts as for CheckRunning and KillRunning. Call it after the
// flag set is parsed and before taking the lock. It never takes the lock
// and never writes a file.
//
// If neither flag is set it prints nothing and returns 0, false: the
// program goes on to take the lock. Otherwise it returns handled true and
// the status the program should exit with:
//
//   - -check-instance prints "Application 'NAME': RUNNING" to standard
//     output and returns 0, or "Application 'NAME': NOT RUNNING" and 1.
//   - -kill-instance stops the holder as KillRunning does (SIGKILL with
//     -force-kill) and prints "Application 'NAME' terminated (pid N)" and
//     returns 0 once the lock is free, or prints "Application 'NAME': NOT
//     RUNNING" and returns 1 if nothing held it. The PID is the holder's as
//     Status read it just before the stop; it is left out of the message if
//     Status could not prove who the holder was.
//   - If the holder was not stopped, it prints "Failed to terminate 'NAME':"
//     and the error to standard error. It returns 1 if the holder did not
//     stop in time (singleinstance.ErrStopTimeout), and singleinstance.ExitLockError if it could not be
//     signalled at all (ErrHolderUnproven, ErrHolderNotVisible) or on any
//     other error, as the singleinstance command does.
//   - If CheckRunning fails, it prints "Cannot check 'NAME':" and the error
//     to standard error and returns singleinstance.ExitLockError.
//   - -force-kill without -kill-instance, or -check-instance together with
//     -kill-instance, is a usage error: it prints why to standard error and
//     returns 2, as the flag package does for a bad command line.
func (f *Flags) Handle(name string, opts ...singleinstance.Option) (exitCode int, handled bool) {
	return f.handleTo(os.Stdout, os.Stderr, name, opts...)
}

// HandleAndExit is like Handle, but when Handle reports the flags handled
// it ends the process with Handle's exit status; otherwise it returns and
// the program goes on to take the lock. Deferred functions do not run when
// it exits, so call it right after parsing the flags, before deferring
// anything.
func (f *Flags) HandleAndExit(name string, opts ...singleinstance.Option) {
	if code, handled := f.Handle(name, opts...); handled {
		os.Exit(code)
	}
}

// handleTo is Handle writing to stdout and stderr.
func (f *Flags) handleTo(stdout, stderr io.Writer, name string, opts ...singleinstance.Option) (int, bool) {
	switch {
	case f.check && f.kill:
		fmt.Fprintf(stderr, "-%s and -%s cannot be used together\n", flagCheck, flagKill)
		return exitUsage, true
	case f.force && !f.kill:
		fmt.Fprintf(stderr, "-%s can only be used with -%s\n", flagForce, flagKill)
		return exitUsage, true
	case f.check:
		return checkInstance(stdout, stderr, name, opts), true
	case f.kill:
		return killInstance(stdout, stderr, name, f.force, opts), true
	}
	return 0, false
}

// checkInstance carries out -check-instance.
func checkInstance(stdout, stderr io.Writer, name string, opts []singleinstance.Option) int {
	running, err := singleinstance.CheckRunning(name, opts...)
	switch {
	case err != nil:
		fmt.Fprintf(stderr, "Cannot check '%s': %v\n", name, err)
		return singleinstance.ExitLockError
	case running:
		fmt.Fprintf(stdout, "Application '%s': RUNNING\n", name)
		return 0
	}
	fmt.Fprintf(stdout, "Application '%s': NOT RUNNING\n", name)
	return 1
}

// killInstance carries out -kill-instance, with -force-kill if force.
func killInstance(stdout, stderr io.Writer, name string, force bool, opts []singleinstance.Option) int {
	// KillRunning does not say whom it stopped: ask Status first. Options
	// given later win, so the appended one always applies.
	st, err := singleinstance.Status(name, append(opts[:len(opts):len(opts)], singleinstance.WithLiveStats(false))...)
	if err != nil {
		fmt.Fprintf(stderr, "Failed to terminate '%s': %v\n", name, err)
		return killFailureCode(err)
	}
	stopped, err := singleinstance.KillRunning(name, force, opts...)
	switch {
	case err != nil:
		fmt.Fprintf(stderr, "Failed to terminate '%s': %v\n", name, err)
		return killFailureCode(err)
	case !stopped:
		fmt.Fprintf(stdout, "Application '%s': NOT RUNNING\n", name)
		return 1
	case st.Running && st.Verified && st.Holder != nil:
		fmt.Fprintf(stdout, "Application '%s' terminated (pid %d)\n", name, st.Holder.PID)
	default:
		fmt.Fprintf(stdout, "Application '%s' terminated\n", name)
	}
	return 0
}

// killFailureCode is the exit status of -kill-instance when KillRunning
// (or the Status before it) fails with err: 1 when the holder is known to
// be still running, singleinstance.ExitLockError when the lock could not be examined or
// the signal not sent.
func killFailureCode(err error) int {
	switch {
	case errors.Is(err, singleinstance.ErrStopTimeout):
		return 1
	case errors.Is(err, singleinstance.ErrUnavailable):
		return singleinstance.ExitUnavailable
	}
	return singleinstance.ExitLockError
}
