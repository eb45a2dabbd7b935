package local

import (
	"os"
	"path/filepath"
	"testing"
)

// TestRealPath resolves the directory of a lock path as the kernel names a
// file opened through it, also when the directory, or the one a symbolic
// link to it points at, no longer exists.
func TestRealPath(t *testing.T) {
	base, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	real := filepath.Join(base, "real")
	if err := os.Mkdir(real, 0o700); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(base, "link")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	relative := filepath.Join(base, "relative")
	if err := os.Symlink("link", relative); err != nil {
		t.Fatal(err)
	}
	loop := filepath.Join(base, "loop")
	if err := os.Symlink("loop", loop); err != nil {
		t.Fatal(err)
	}
	check := func(path, want string) {
		t.Helper()
		if got := realPath(path); got != want {
			t.Errorf("realPath(%q) = %q, want %q", path, got, want)
		}
	}
	want := filepath.Join(real, "app.lock")
	check(filepath.Join(real, "app.lock"), want)
	check(filepath.Join(link, "app.lock"), want)
	check(filepath.Join(relative, "app.lock"), want)
	check(filepath.Join(loop, "app.lock"), filepath.Join(loop, "app.lock"))
	if err := os.Remove(real); err != nil {
		t.Fatal(err)
	}
	// Deleted: the links now point where nothing is.
	check(filepath.Join(real, "app.lock"), want)
	check(filepath.Join(link, "app.lock"), want)
	check(filepath.Join(relative, "app.lock"), want)
	check(filepath.Join(base, "gone", "deeper", "app.lock"), filepath.Join(base, "gone", "deeper", "app.lock"))
}
