//go:build linux

package local

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// TestDefaultLockDirChoice checks which directory is the default on
// Linux: RUNTIME/UID/singleinstance when RUNTIME/UID is a real directory
// (not a link) of the user's own with mode 0700, as systemd-logind makes
// /run/user/UID, whatever $XDG_RUNTIME_DIR says; /tmp/singleinstance-UID
// otherwise.
//
// Not parallel: it sets $XDG_RUNTIME_DIR, to show that it does not count.
func TestDefaultLockDirChoice(t *testing.T) {
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	uid := os.Geteuid()
	tmp := "/tmp/singleinstance-" + strconv.Itoa(uid)
	for _, tc := range []struct {
		name    string
		prepare func(t *testing.T, rt string)
		runtime bool
	}{
		{"missing", func(t *testing.T, rt string) {}, false},
		{"private directory", func(t *testing.T, rt string) { mkdirMode(t, rt, 0o700) }, true},
		{"open directory", func(t *testing.T, rt string) { mkdirMode(t, rt, 0o755) }, false},
		{"sticky directory", func(t *testing.T, rt string) { mkdirMode(t, rt, os.ModeSticky|0o700) }, false},
		{"file", func(t *testing.T, rt string) {
			if err := os.WriteFile(rt, nil, 0o700); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"symbolic link to a private directory", func(t *testing.T, rt string) {
			target := filepath.Join(t.TempDir(), "target")
			mkdirMode(t, target, 0o700)
			if err := os.Symlink(target, rt); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"another user's directory", func(t *testing.T, rt string) {
			if uid != 0 {
				t.Skip("needs root to give a directory to another user")
			}
			mkdirMode(t, rt, 0o700)
			if err := os.Chown(rt, 65534, 65534); err != nil {
				t.Fatal(err)
			}
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runUser := t.TempDir()
			rt := filepath.Join(runUser, strconv.Itoa(uid))
			tc.prepare(t, rt)
			want := tmp
			if tc.runtime {
				want = filepath.Join(rt, "singleinstance")
			}
			if got := chooseDefaultLockDir(runUser, uid); got != want {
				t.Errorf("chooseDefaultLockDir = %q, want %q", got, want)
			}
		})
	}
	got, err := DefaultDir()
	if err != nil {
		t.Fatal(err)
	}
	if want := chooseDefaultLockDir("/run/user", uid); got != want {
		t.Errorf("DefaultDir() = %q, want %q (from /run/user)", got, want)
	}
}

func mkdirMode(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}
