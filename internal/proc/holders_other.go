//go:build !linux

package proc

import (
	"errors"
	"os"
)

func holdersVia(l NameLock, threads bool) ([]int, error)    { return nil, errors.ErrUnsupported }
func holds(pid int, l NameLock) (bool, error)               { return false, errors.ErrUnsupported }
func signalHolder(pid int, sig os.Signal, l NameLock) error { return errors.ErrUnsupported }
func descendants(pid int) ([]int, error)                    { return nil, errors.ErrUnsupported }
func cmdline(pid int) ([]string, error)                     { return nil, errors.ErrUnsupported }

func holdersBelow(pid int, l NameLock) ([]int, error) { return nil, errors.ErrUnsupported }
func deletedLockFiles(pid int, l NameLock) ([]string, error) {
	return nil, errors.ErrUnsupported
}
func isSubreaper() bool { return false }
