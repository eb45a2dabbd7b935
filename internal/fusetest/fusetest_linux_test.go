package fusetest_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/singleinstance/singleinstance/internal/fusetest"
)

// TestMount checks what the fault tests rely on: statfs(2) says FUSE, the
// root is an empty directory, nothing can be created in it, and cleanup
// unmounts it.
func TestMount(t *testing.T) {
	var dir string
	t.Run("mounted", func(t *testing.T) {
		dir = fusetest.Mount(t)
		var st unix.Statfs_t
		if err := unix.Statfs(dir, &st); err != nil {
			t.Fatal(err)
		}
		if st.Type != unix.FUSE_SUPER_MAGIC {
			t.Errorf("statfs type %#x, want FUSE_SUPER_MAGIC %#x", st.Type, unix.FUSE_SUPER_MAGIC)
		}
		fi, err := os.Stat(dir)
		if err != nil {
			t.Fatal(err)
		}
		if !fi.IsDir() {
			t.Errorf("root mode %v, want a directory", fi.Mode())
		}
		if _, err := os.Lstat(filepath.Join(dir, "missing")); !errors.Is(err, unix.ENOENT) {
			t.Errorf("lookup of a missing name: %v, want ENOENT", err)
		}
		if f, err := os.OpenFile(filepath.Join(dir, "new"), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); !errors.Is(err, unix.EROFS) {
			if f != nil {
				f.Close()
			}
			t.Errorf("create: %v, want EROFS", err)
		}
		if err := os.Mkdir(filepath.Join(dir, "sub"), 0o700); !errors.Is(err, unix.EROFS) {
			t.Errorf("mkdir: %v, want EROFS", err)
		}
	})
	if dir == "" {
		return // skipped
	}
	// The subtest's cleanup unmounted the directory, or removing it,
	// which rmdir(2) refuses for a mount point, would have failed.
	if _, err := os.Lstat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s after cleanup: %v, want it unmounted and removed", dir, err)
	}
}
