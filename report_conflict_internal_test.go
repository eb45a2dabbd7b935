package singleinstance

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/singleinstance/singleinstance/termtext"
)

// sentinels are all the package's sentinel errors, to check that an error
// matches the one it should and no other.
var sentinels = map[string]error{
	"ErrAlreadyRunning":  ErrAlreadyRunning,
	"ErrInvalidName":     ErrInvalidName,
	"ErrLockDirUnusable": ErrLockDirUnusable,
	"ErrCorruptInfo":     ErrCorruptInfo,
	"ErrLockLost":        ErrLockLost,
	"ErrHolderUnproven":  ErrHolderUnproven,
	"ErrStopTimeout":     ErrStopTimeout,
	"ErrTokensExhausted": ErrTokensExhausted,
	"ErrUnavailable":     ErrUnavailable,
	"ErrStopRequested":   ErrStopRequested,
}

func sampleConflict(t *testing.T, lockDir string) *AlreadyRunningError {
	t.Helper()
	return &AlreadyRunningError{
		Name:     "trading_bot",
		LockPath: filepath.Join(lockDir, "trading_bot.lock"),
		Holder: &Holder{
			PID:        4242,
			Started:    time.Now().Add(-90 * time.Minute),
			AcquiredAt: time.Now().Add(-89 * time.Minute),
			Executable: "/opt/bot/bin/trading_bot",
			Argv:       []string{"/opt/bot/bin/trading_bot", "--market", "EU west", "--dry-run"},
			Cwd:        "/srv/bot",
			User:       "trader",
			UID:        1000,
			Host:       "box1",
			Token:      1709263800000001,
		},
		Observed: Observed{Visible: true,
			Process: &ProcessStats{Status: "sleep", CPUPercent: 12.5, MemoryRSS: 52_400_000}},
	}
}

func TestAlreadyRunningErrorMatching(t *testing.T) {
	t.Parallel()
	e := sampleConflict(t, "/locks")
	if !errors.Is(e, ErrAlreadyRunning) {
		t.Errorf("errors.Is(%v, ErrAlreadyRunning) = false", e)
	}
	if errors.Is(e, context.DeadlineExceeded) || errors.Is(e, context.Canceled) {
		t.Errorf("error without Cause matches a context error: %v", e)
	}
	if errors.Unwrap(e) != nil {
		t.Errorf("errors.Unwrap(%v) = %v, want nil without Cause", e, errors.Unwrap(e))
	}
	for name, s := range sentinels {
		if name != "ErrAlreadyRunning" && errors.Is(e, s) {
			t.Errorf("AlreadyRunningError matches %s", name)
		}
	}

	waited := sampleConflict(t, "/locks")
	waited.Cause = context.DeadlineExceeded
	waited.Waited = 1500 * time.Millisecond
	if !errors.Is(waited, ErrAlreadyRunning) || !errors.Is(waited, context.DeadlineExceeded) {
		t.Errorf("error with Cause DeadlineExceeded: Is(ErrAlreadyRunning)=%v Is(DeadlineExceeded)=%v, want both",
			errors.Is(waited, ErrAlreadyRunning), errors.Is(waited, context.DeadlineExceeded))
	}
	if errors.Is(waited, context.Canceled) {
		t.Errorf("error with Cause DeadlineExceeded matches context.Canceled")
	}
	if msg := waited.Error(); !strings.Contains(msg, "waited 1.5s") {
		t.Errorf("Error() = %q, want it to say how long it waited", msg)
	}

	for _, wrapped := range []error{
		fmt.Errorf("start: %w", waited),
		fmt.Errorf("outer: %w", fmt.Errorf("inner: %w", waited)),
		errors.Join(errors.New("other"), waited),
	} {
		var got *AlreadyRunningError
		if !errors.As(wrapped, &got) || got != waited {
			t.Errorf("errors.As(%v) = %v, want the original *AlreadyRunningError", wrapped, got)
		}
		if !errors.Is(wrapped, ErrAlreadyRunning) || !errors.Is(wrapped, context.DeadlineExceeded) {
			t.Errorf("wrapped %v does not match ErrAlreadyRunning and DeadlineExceeded", wrapped)
		}
	}
}

func TestAlreadyRunningErrorMessage(t *testing.T) {
	t.Parallel()
	e := sampleConflict(t, "/locks")
	msg := e.Error()
	for _, want := range []string{`"trading_bot"`, ErrAlreadyRunning.Error(), "pid 4242", "started "} {
		if !strings.Contains(msg, want) {
			t.Errorf("Error() = %q, want it to contain %q", msg, want)
		}
	}
	if strings.Contains(msg, "waited") {
		t.Errorf("Error() = %q mentions waiting, but the caller did not wait", msg)
	}
	bare := &AlreadyRunningError{Name: "x", LockPath: "/locks/x.lock"}
	if got, want := bare.Error(), `singleinstance: "x": another instance is already running`; got != want {
		t.Errorf("Error() without holder = %q, want %q", got, want)
	}
}

func TestAlreadyRunningReport(t *testing.T) {
	t.Parallel()
	def, err := DefaultLockDir()
	if err != nil {
		t.Fatalf("DefaultLockDir: %v", err)
	}
	e := sampleConflict(t, def)
	report := e.Report()
	t.Logf("report:\n%s", report)
	for _, want := range []string{
		`Another instance of "trading_bot" is already running`,
		"Instance details:\n  pid=4242\n",
		"  started=",
		"(up 1h",
		"  executable=/opt/bot/bin/trading_bot\n",
		"  argv=/opt/bot/bin/trading_bot --market 'EU west' --dry-run\n",
		"  cwd=/srv/bot\n",
		"  user=trader\n",
		"  host=box1\n",
		"  token=1709263800000001 (fencing token of the holder's acquisition)\n",
		"  status=sleep\n",
		"  cpu=12.5%\n",
		"  memory=52.4 MB\n",
		"  lock=" + e.LockPath + "\n",
		"singleinstance kill trading_bot",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("Report() does not contain %q", want)
		}
	}
	if strings.Contains(report, "--lock-dir") {
		t.Errorf("Report() for the default lock directory names it with --lock-dir:\n%s", report)
	}
	if n := strings.Count(report, "4242"); n != 1 {
		t.Errorf("Report() names the PID %d times, want once:\n%s", n, report)
	}
}

func TestAlreadyRunningReportVariants(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()

	notVisible := sampleConflict(t, dir)
	notVisible.Process = nil
	notVisible.Visible = false

	visibleNoStats := sampleConflict(t, dir)
	visibleNoStats.Process = nil

	exited := sampleConflict(t, dir)
	exited.Process, exited.Visible, exited.Exited = nil, false, true

	// Found through the name token or the kernel alone: no .info, so no
	// token to show.
	undescribed := sampleConflict(t, dir)
	undescribed.Holder.Token = 0

	unreadable := &AlreadyRunningError{Name: "trading_bot", LockPath: filepath.Join(dir, "trading_bot.lock"),
		HolderErr: fmt.Errorf("read info: %w", ErrCorruptInfo)}
	unwritten := &AlreadyRunningError{Name: "trading_bot", LockPath: filepath.Join(dir, "trading_bot.lock")}

	tests := []struct {
		desc string
		e    *AlreadyRunningError
		want []string
	}{
		{"holder with stats", sampleConflict(t, dir), []string{"status=sleep", "cpu=12.5%", "memory=52.4 MB"}},
		{"not visible", notVisible, []string{"status=not visible from here"}},
		{"visible without stats", visibleNoStats, []string{"status=running\n"}},
		{"exited, its tree holding", exited, []string{"status=exited; other processes of its tree hold the name"}},
		{"holder without a token", undescribed, []string{"pid="}},
		{"holder unreadable", unreadable, []string{"Holder details unavailable: read info: " + ErrCorruptInfo.Error()}},
		{"holder not written", unwritten, []string{"Holder details unavailable: it has not written them yet"}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			report := tt.e.Report()
			t.Logf("report:\n%s", report)
			want := slices.Concat(tt.want, []string{
				`Another instance of "trading_bot" is already running`,
				"  lock=" + tt.e.LockPath + "\n",
				" kill trading_bot (add --force to kill it)",
				"--lock-dir " + termtext.Word(dir) + " kill trading_bot",
			})
			for _, w := range want {
				if !strings.Contains(report, w) {
					t.Errorf("Report() does not contain %q", w)
				}
			}
			if strings.Contains(report, "rm ") {
				t.Errorf("Report() suggests removing a file:\n%s", report)
			}
			if tt.e.Holder == nil && strings.Contains(report, "pid=") {
				t.Errorf("Report() without holder shows a pid:\n%s", report)
			}
			if hasToken := strings.Contains(report, "token="); tt.e.Holder != nil && hasToken != (tt.e.Holder.Token != 0) {
				t.Errorf("Report() of a holder with token %d shows a token line: %v\n%s", tt.e.Holder.Token, hasToken, report)
			}
		})
	}
}

func TestAlreadyRunningReportNeverSuggestsRemoval(t *testing.T) {
	t.Parallel()
	def, err := DefaultLockDir()
	if err != nil {
		t.Fatalf("DefaultLockDir: %v", err)
	}
	for _, dir := range []string{def, t.TempDir(), "/var/lock/my apps"} {
		e := sampleConflict(t, dir)
		report := e.Report()
		for _, bad := range []string{"rm ", "del ", "delete the lock", "remove the lock"} {
			if strings.Contains(strings.ToLower(report), bad) {
				t.Errorf("Report() with lock dir %q contains %q:\n%s", dir, bad, report)
			}
		}
	}
}
