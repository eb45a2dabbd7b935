package local

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/singleinstance/singleinstance/internal/safefs"
)

// sentinels are all the package's sentinel errors, to check that an error
// matches the one it should and no other.
var sentinels = map[string]error{
	"ErrAlreadyRunning":   ErrAlreadyRunning,
	"ErrInvalidLockDir":   ErrInvalidLockDir,
	"ErrLockDirUnusable":  ErrLockDirUnusable,
	"ErrInsecureLockDir":  ErrInsecureLockDir,
	"ErrPermission":       ErrPermission,
	"ErrReadOnly":         ErrReadOnly,
	"ErrDiskFull":         ErrDiskFull,
	"ErrForeignLockFile":  ErrForeignLockFile,
	"ErrNotRegularFile":   ErrNotRegularFile,
	"ErrLinkedLockFile":   ErrLinkedLockFile,
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
		{"hard-linked", fmt.Errorf("%w: 2", safefs.ErrHardLinked), "ErrLinkedLockFile", false},
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
				// The precise cause, and the broader one it belongs to.
				want := tt.want != "" && (name == tt.want || errors.Is(sentinels[tt.want], s))
				if got := errors.Is(err, s); got != want {
					t.Errorf("errors.Is(%v, %s) = %v, want %v", err, name, got, want)
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
