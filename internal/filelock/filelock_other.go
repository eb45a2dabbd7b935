//go:build !linux && !darwin && !dragonfly && !freebsd && !netbsd && !openbsd && !windows

package filelock

import (
	"errors"
	"os"
)

// Platforms without a lock primitive this package knows fail every call.

func tryLock(f *os.File) error                                  { return errors.ErrUnsupported }
func unlock(f *os.File) error                                   { return errors.ErrUnsupported }
func isLocked(f *os.File) (bool, error)                         { return false, errors.ErrUnsupported }
func newWatcher(path string, releaseOnly bool) (watcher, error) { return nil, errors.ErrUnsupported }
