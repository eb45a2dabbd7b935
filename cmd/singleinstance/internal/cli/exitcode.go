package cli

import (
	"errors"
	"fmt"

	"github.com/singleinstance/singleinstance"
)

// Exit codes shared by the commands. run also exits with its command's
// code, 128+N when the command died of signal N.
const (
	exitOK        = 0
	exitNo        = 1 // not running (check, status), nothing stopped (kill), timed out (wait), conflict (run)
	exitUsage     = 2 // bad flags or arguments
	exitError     = 3 // could not tell: bad name, lock directory or I/O error, unprovable holder
	exitLockLost  = 121
	exitRunFailed = 125 // run could not take the lock or start the command
	exitNoExec    = 126 // run: command found but not executable
	exitNotFound  = 127 // run: command not found
)

// exitUnavailable means the lock backend (etcd) could not be reached or did
// not answer, so that nothing was decided.
const exitUnavailable = singleinstance.ExitUnavailable // 4

// codeError carries an exit code out of a command.
type codeError struct {
	code int
	err  error // printed unless nil
}

func (e *codeError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

func (e *codeError) Unwrap() error { return e.err }

// withCode wraps err (which may be nil, meaning print nothing) with code.
func withCode(code int, err error) error { return &codeError{code: code, err: err} }

// usageError marks a usage mistake: exit 2 with the usage line.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }

func usagef(format string, args ...any) error { return &usageError{fmt.Errorf(format, args...)} }

// failed wraps err (non-nil, printed) with unavailableOr(code, err).
func failed(code int, err error) error { return withCode(unavailableOr(code, err), err) }

// unavailableOr is exitUnavailable if err says the lock backend could not
// be reached, so that nothing was decided, and code otherwise.
func unavailableOr(code int, err error) int {
	if errors.Is(err, singleinstance.ErrUnavailable) {
		return exitUnavailable
	}
	return code
}

func codeOf(err error) int {
	var ce *codeError
	var ue *usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ce):
		return ce.code
	case errors.As(err, &ue):
		return exitUsage
	case errors.Is(err, singleinstance.ErrUnavailable):
		return exitUnavailable
	default:
		return exitError
	}
}
