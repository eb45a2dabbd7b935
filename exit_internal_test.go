package singleinstance

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

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
