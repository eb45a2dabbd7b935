//go:build !linux

package proc

import "errors"

func holdsLock(id Identity, dev, ino uint64) (bool, error) { return false, errors.ErrUnsupported }

func inodeLocked(dev, ino uint64) (bool, error) { return false, errors.ErrUnsupported }

func lockedFiles() ([]FileID, error) { return nil, errors.ErrUnsupported }
