package local

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestLockFilePerm checks the mode of the files a holder creates: the lock
// and .info files are the owner's only in every directory, so that no
// other user can take a read lock on the lock file and block the name; the
// .pid file is readable by those a directory the user has opened to others
// lets in.
func TestLockFilePerm(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permission bits")
	}
	for _, tc := range []struct {
		dirMode, want os.FileMode
	}{
		{0o700, 0o600},
		{0o750, 0o640},
		{0o711, 0o644},
		{os.ModeSticky | 0o777, 0o644},
	} {
		dir := filepath.Join(t.TempDir(), "locks")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, tc.dirMode); err != nil {
			t.Fatal(err)
		}
		inst, err := acquireIn(dir, "bot", false)
		if err != nil {
			t.Fatal(err)
		}
		for ext, want := range map[string]os.FileMode{".lock": 0o600, ".pid": tc.want, ".info": 0o600} {
			fi, err := os.Lstat(filepath.Join(dir, "bot"+ext))
			if err != nil {
				t.Fatal(err)
			}
			// The umask may take bits away, never add them.
			got := fi.Mode().Perm()
			if got&^want != 0 || got&0o600 != 0o600 || want == 0o600 && got != want {
				t.Errorf("directory mode %v: bot%s has mode %v, want %v", tc.dirMode, ext, got, want)
			}
		}
		if err := inst.Release(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestForeignDefaultLockDirError plants the private lock directory as
// another user (uid 65534, root only): the error names the directory, its
// owner by name and uid, and the fix, and still matches
// ErrInsecureLockDir.
func TestForeignDefaultLockDirError(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" || os.Geteuid() != 0 {
		t.Skip("needs root to give a directory to another user")
	}
	dir := filepath.Join(t.TempDir(), "singleinstance-0")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"prepare": prepareLockDir(dir, true),
		"check":   checkLockDir(dir),
	} {
		if !errors.Is(err, ErrInsecureLockDir) {
			t.Fatalf("%s: %v, want ErrInsecureLockDir", name, err)
		}
		msg := err.Error()
		for _, want := range []string{"lock directory " + dir + " belongs to user ", "(uid 65534)",
			"remove it as root", "set SINGLEINSTANCE_LOCK_DIR to a directory you own"} {
			if !strings.Contains(msg, want) {
				t.Errorf("%s: error %q does not contain %q", name, msg, want)
			}
		}
	}

	// A symbolic link in its place names its target and the fix.
	link := filepath.Join(t.TempDir(), "singleinstance-0")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	err := prepareLockDir(link, true)
	if !errors.Is(err, ErrInsecureLockDir) || !strings.Contains(err.Error(), "is a symbolic link to "+dir) ||
		!strings.Contains(err.Error(), "SINGLEINSTANCE_LOCK_DIR") {
		t.Errorf("symbolic link: %v", err)
	}
}
