package singleinstance

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/singleinstance/singleinstance/internal/safefs"
)

// sentinels are all the package's sentinel errors, to check that an error
// matches the one it should and no other.
var sentinels = map[string]error{
	"ErrAlreadyRunning":   ErrAlreadyRunning,
	"ErrInvalidName":      ErrInvalidName,
	"ErrInvalidLockDir":   ErrInvalidLockDir,
	"ErrLockDirUnusable":  ErrLockDirUnusable,
	"ErrInsecureLockDir":  ErrInsecureLockDir,
	"ErrPermission":       ErrPermission,
	"ErrReadOnly":         ErrReadOnly,
	"ErrDiskFull":         ErrDiskFull,
	"ErrForeignLockFile":  ErrForeignLockFile,
	"ErrNotRegularFile":   ErrNotRegularFile,
	"ErrCorruptInfo":      ErrCorruptInfo,
	"ErrInfoTooLarge":     ErrInfoTooLarge,
	"ErrLockLost":         ErrLockLost,
	"ErrHolderNotVisible": ErrHolderNotVisible,
	"ErrHolderUnproven":   ErrHolderUnproven,
	"ErrStopTimeout":      ErrStopTimeout,
}

// errnoClassified reports whether classify maps raw Unix errno values for
// read-only and full file systems on this platform.
func errnoClassified() bool {
	switch runtime.GOOS {
	case "windows", "plan9", "js", "wasip1":
		return false
	}
	return true
}

func TestClassify(t *testing.T) {
	t.Parallel()
	const path = "/locks/dir/trading_bot.lock"
	tests := []struct {
		desc     string
		inner    error  // the error inside the *fs.PathError
		want     string // key in sentinels; "" for none
		unixOnly bool
	}{
		{"EROFS", syscall.EROFS, "ErrReadOnly", true},
		{"ENOSPC", syscall.ENOSPC, "ErrDiskFull", true},
		{"EDQUOT", syscall.EDQUOT, "ErrDiskFull", true},
		{"EACCES", syscall.EACCES, "ErrPermission", false},
		{"EPERM", syscall.EPERM, "ErrPermission", false},
		{"ENOTDIR", syscall.ENOTDIR, "ErrLockDirUnusable", false},
		{"ENOENT", syscall.ENOENT, "ErrLockDirUnusable", false},
		{"fs.ErrNotExist", fs.ErrNotExist, "ErrLockDirUnusable", false},
		{"foreign owner", fmt.Errorf("%w: uid 0, not 1000", safefs.ErrForeignOwner), "ErrForeignLockFile", false},
		{"insecure dir", fmt.Errorf("%w: mode -rwxrwxrwx", safefs.ErrInsecureDir), "ErrInsecureLockDir", false},
		// A failed chmod of an insecure directory is still insecure first.
		{"insecure dir, chmod denied", fmt.Errorf("%w: mode -rwxrwxrwx: %w", safefs.ErrInsecureDir, syscall.EPERM), "ErrInsecureLockDir", false},
		{"not regular", fmt.Errorf("%w: symbolic link", safefs.ErrNotRegular), "ErrNotRegularFile", false},
		{"not regular (bare)", safefs.ErrNotRegular, "ErrNotRegularFile", false},
		{"too large", fmt.Errorf("%w: more than 65536 bytes", safefs.ErrTooLarge), "ErrInfoTooLarge", false},
		{"unknown", errors.New("something odd"), "", false},
		{"EIO", syscall.EIO, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			if tt.unixOnly && !errnoClassified() {
				t.Skipf("%s is not a native error on %s", tt.desc, runtime.GOOS)
			}
			orig := &fs.PathError{Op: "open", Path: path, Err: tt.inner}
			err := classify("lock file "+path, orig)
			if err == nil {
				t.Fatalf("classify(%v) = nil", orig)
			}
			t.Logf("classify(%v) = %v", orig, err)
			for name, s := range sentinels {
				if got := errors.Is(err, s); got != (name == tt.want) {
					t.Errorf("errors.Is(%v, %s) = %v, want %v", err, name, got, name == tt.want)
				}
			}
			if !errors.Is(err, orig) {
				t.Errorf("errors.Is(%v, original *fs.PathError) = false", err)
			}
			if !errors.Is(err, tt.inner) {
				t.Errorf("errors.Is(%v, %v) = false, want the underlying error kept", err, tt.inner)
			}
			var pe *fs.PathError
			if !errors.As(err, &pe) || pe != orig {
				t.Errorf("errors.As(%v, *fs.PathError) = %v, want the original", err, pe)
			}
			msg := err.Error()
			if !strings.Contains(msg, path) {
				t.Errorf("message %q does not name the path %q", msg, path)
			}
			if !strings.HasPrefix(msg, "singleinstance: lock file ") {
				t.Errorf("message %q does not start with the package and what failed", msg)
			}
		})
	}
}

func TestClassifyPermissionMatchesFS(t *testing.T) {
	t.Parallel()
	for _, errno := range []error{syscall.EACCES, syscall.EPERM} {
		err := classify("write /x/a.info", &fs.PathError{Op: "open", Path: "/x/a.info", Err: errno})
		if !errors.Is(err, ErrPermission) || !errors.Is(err, fs.ErrPermission) {
			t.Errorf("classify(%v) = %v, want it to match ErrPermission and fs.ErrPermission", errno, err)
		}
	}
}

func TestClassifyNil(t *testing.T) {
	t.Parallel()
	if err := classify("lock file /x", nil); err != nil {
		t.Errorf("classify(nil) = %v, want nil", err)
	}
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
			Visible:    true,
			Process:    &ProcessStats{Status: "sleep", CPUPercent: 12.5, MemoryRSS: 52_400_000},
		},
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
	notVisible.Holder.Process = nil
	notVisible.Holder.Visible = false

	visibleNoStats := sampleConflict(t, dir)
	visibleNoStats.Holder.Process = nil

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
				"--lock-dir " + shellQuote(dir) + " kill trading_bot",
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

// A lock directory path that names a regular file is unusable, for the
// private default directory as for a directory given by the user. The
// private check used to fail with a plain error that matched no sentinel.
func TestPrepareLockDirNotADirectory(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "not-a-dir")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatalf("create %s: %v", file, err)
	}
	for _, private := range []bool{true, false} {
		err := prepareLockDir(file, private)
		t.Logf("prepareLockDir(%s, private=%v) = %v", file, private, err)
		if !errors.Is(err, ErrLockDirUnusable) {
			t.Errorf("prepareLockDir(regular file, private=%v) = %v, want an error matching ErrLockDirUnusable", private, err)
		}
		if errors.Is(err, ErrInsecureLockDir) || errors.Is(err, ErrAlreadyRunning) {
			t.Errorf("prepareLockDir(regular file, private=%v) = %v, matches the wrong sentinel", private, err)
		}
		if err != nil && !strings.Contains(err.Error(), file) {
			t.Errorf("prepareLockDir(regular file, private=%v) = %v, does not name the path", private, err)
		}
	}
}
