package safefs_test

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/singleinstance/singleinstance/internal/fusetest"
	"github.com/singleinstance/singleinstance/internal/safefs"
)

// tmpfsDir returns a directory on tmpfs: a fresh mount as root, else
// /dev/shm if it is tmpfs.
func tmpfsDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if os.Geteuid() == 0 {
		if err := syscall.Mount("safefs-test", dir, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, "size=64k,mode=0700"); err == nil {
			t.Cleanup(func() {
				if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
					t.Errorf("unmount %s: %v", dir, err)
				}
			})
			return dir
		}
	}
	var st unix.Statfs_t
	if err := unix.Statfs("/dev/shm", &st); err != nil || st.Type != unix.TMPFS_MAGIC {
		t.Skip("skipping: cannot mount tmpfs and /dev/shm is not tmpfs")
	}
	dir, err := os.MkdirTemp("/dev/shm", "safefs-test-")
	if err != nil {
		t.Skipf("skipping: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func TestNetworkFS(t *testing.T) {
	t.Run("tmpfs", func(t *testing.T) {
		dir := tmpfsDir(t)
		if kind, ok, err := safefs.NetworkFS(dir); ok || err != nil {
			t.Errorf("NetworkFS(tmpfs) = %q, %v, %v; want a local file system", kind, ok, err)
		}
	})
	t.Run("fuse", func(t *testing.T) {
		dir := fusetest.Mount(t)
		if kind, ok, err := safefs.NetworkFS(dir); !ok || kind != "fuse" || err != nil {
			t.Errorf("NetworkFS(FUSE) = %q, %v, %v; want fuse", kind, ok, err)
		}
	})
	t.Run("missing", func(t *testing.T) {
		if _, _, err := safefs.NetworkFS(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("NetworkFS of a missing path: %v, want ErrNotExist", err)
		}
	})
}

// TestReadBoundedReadsAtMostTheBound reads a file whose size stat(2) does
// not know (/proc files say 0): the bound holds on the read itself.
func TestReadBoundedReadsAtMostTheBound(t *testing.T) {
	const path = "/proc/self/status"
	if fi, err := os.Stat(path); err != nil || fi.Size() != 0 {
		t.Skipf("skipping: %s is not a zero-size proc file here (%v)", path, err)
	}
	if _, err := safefs.ReadBounded(path, 16); !errors.Is(err, safefs.ErrTooLarge) {
		t.Errorf("ReadBounded(%s, 16): %v, want ErrTooLarge", path, err)
	}
	b, err := safefs.ReadBounded(path, 1<<20)
	if err != nil || len(b) < 16 {
		t.Errorf("ReadBounded(%s, 1MiB): %d bytes, %v", path, len(b), err)
	}
}
