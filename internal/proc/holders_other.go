//go:build !linux

package proc

import (
	"errors"
	"syscall"
)

func holders(sockIno, dev, ino uint64) ([]int, error)            { return nil, errors.ErrUnsupported }
func descendants(pid int) ([]int, error)                         { return nil, errors.ErrUnsupported }
func holdsToken(pid int, sockIno, dev, ino uint64) (bool, error) { return false, errors.ErrUnsupported }

func cmdline(pid int) ([]string, error) { return nil, errors.ErrUnsupported }

func signalHolder(pid int, sig syscall.Signal, sockIno, dev, ino uint64) error {
	return errors.ErrUnsupported
}
