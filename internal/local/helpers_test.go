package local

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/singleinstance/singleinstance/internal/safefs"
)

// acquireIn takes name in dir at once, as the root package's New does.
func acquireIn(dir, name string, cleanup bool) (*Lock, error) {
	return acquireWith(Config{Dir: dir, CheckInterval: time.Second, Cleanup: cleanup}, name)
}

// acquireWith takes name at once in a Store opened with cfg.
func acquireWith(cfg Config, name string) (*Lock, error) {
	s, err := Open(cfg)
	if err != nil {
		return nil, err
	}
	return s.Acquire(context.Background(), name, AcquireOptions{})
}

// runningIn reports whether name is held in dir.
func runningIn(dir, name string) (bool, error) {
	s, err := Open(Config{Dir: dir})
	if err != nil {
		return false, err
	}
	return s.Running(name)
}

// inodeOf returns the inode of the open file f.
func inodeOf(t testing.TB, f *os.File) uint64 {
	t.Helper()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	_, ino := safefs.FileID(fi)
	return ino
}
