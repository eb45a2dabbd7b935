package singleinstance

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"testing"
)

// HandleTo lets the black-box tests in flags_test.go capture what Handle
// prints.
func (f *Flags) HandleTo(stdout, stderr io.Writer, name string, opts ...Option) (int, bool) {
	return f.handleTo(stdout, stderr, name, opts...)
}

func TestFlagsKillFailureCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc string
		err  error
		want int
	}{
		{"stop timeout", fmt.Errorf("singleinstance: %q (pid 7) was sent SIGTERM but still holds the lock: %w: %w",
			"bot", ErrStopTimeout, context.DeadlineExceeded), 1},
		{"holder unproven", fmt.Errorf("singleinstance: %q is running, but %w: no .info file", "bot", ErrHolderUnproven), ExitLockError},
		{"holder not visible", fmt.Errorf("singleinstance: %q is running as pid 7 in another PID namespace or boot: %w",
			"bot", ErrHolderNotVisible), ExitLockError},
		{"bad name", ValidateName("a/b"), ExitLockError},
		{"permission", fmt.Errorf("singleinstance: lock file /x/bot.lock: %w: %w", ErrPermission, &fs.PathError{Op: "open", Path: "/x/bot.lock", Err: fs.ErrPermission}), ExitLockError},
		{"signal failed", errors.New("singleinstance: signal pid 7: operation not permitted"), ExitLockError},
		{"backend unreachable", fmt.Errorf("singleinstance/etcd: stop bot: %w: %w", ErrUnavailable, context.DeadlineExceeded), ExitUnavailable},
	}
	for _, tt := range tests {
		if got := killFailureCode(tt.err); got != tt.want {
			t.Errorf("%s: killFailureCode(%v) = %d, want %d", tt.desc, tt.err, got, tt.want)
		}
	}
}

func TestReportFailureCodes(t *testing.T) {
	t.Parallel()
	cfg := newConfig(nil)
	for _, tt := range []struct {
		err  error
		want int
	}{
		{&AlreadyRunningError{Name: "bot", LockPath: "etcd:/singleinstance/lock/bot", StopCommand: "singleinstance --etcd e1:2379 kill bot"}, ExitAlreadyRunning},
		{fmt.Errorf("singleinstance/etcd: acquire bot: %w: %w", ErrUnavailable, context.DeadlineExceeded), ExitUnavailable},
		{ValidateName("a/b"), ExitLockError},
	} {
		var out strings.Builder
		if got := reportFailure(&out, cfg, "bot", tt.err); got != tt.want {
			t.Errorf("reportFailure(%v) = %d, want %d", tt.err, got, tt.want)
		}
		if strings.Contains(out.String(), "To stop it") && !strings.Contains(out.String(), "singleinstance --etcd e1:2379 kill bot") {
			t.Errorf("a backend conflict report names the local stop command:\n%s", out.String())
		}
	}
}
