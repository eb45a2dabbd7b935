package mainflags

import (
	"context"
	"errors"
	"fmt"
	"github.com/singleinstance/singleinstance/internal/local"
	"io/fs"
	"testing"

	"github.com/singleinstance/singleinstance"
)

func TestFlagsKillFailureCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc string
		err  error
		want int
	}{
		{"stop timeout", fmt.Errorf("singleinstance: %q (pid 7) was sent SIGTERM but still holds the lock: %w: %w",
			"bot", singleinstance.ErrStopTimeout, context.DeadlineExceeded), 1},
		{"holder unproven", fmt.Errorf("singleinstance: %q is running, but %w: no .info file", "bot", singleinstance.ErrHolderUnproven), singleinstance.ExitLockError},
		{"holder not visible", fmt.Errorf("singleinstance: %q is running as pid 7 in another PID namespace or boot: %w",
			"bot", local.ErrHolderNotVisible), singleinstance.ExitLockError},
		{"bad name", singleinstance.ValidateName("a/b"), singleinstance.ExitLockError},
		{"permission", fmt.Errorf("singleinstance: lock file /x/bot.lock: %w: %w", local.ErrPermission, &fs.PathError{Op: "open", Path: "/x/bot.lock", Err: fs.ErrPermission}), singleinstance.ExitLockError},
		{"signal failed", errors.New("singleinstance: signal pid 7: operation not permitted"), singleinstance.ExitLockError},
		{"backend unreachable", fmt.Errorf("singleinstance/etcd: stop bot: %w: %w", singleinstance.ErrUnavailable, context.DeadlineExceeded), singleinstance.ExitUnavailable},
	}
	for _, tt := range tests {
		if got := killFailureCode(tt.err); got != tt.want {
			t.Errorf("%s: killFailureCode(%v) = %d, want %d", tt.desc, tt.err, got, tt.want)
		}
	}
}
