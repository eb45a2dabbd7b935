//go:build !unix && !windows

package proc

import (
	"errors"
	"time"
)

// Platforms without process support: every lookup fails.

func selfPID() int { return -1 }

func lookup(pid int) (Identity, error) { return Identity{}, errors.ErrUnsupported }

func startTime(id Identity) (time.Time, error) { return time.Time{}, errors.ErrUnsupported }

func signal(id Identity, force bool) error { return errors.ErrUnsupported }

// zombie reports whether pid has exited and waits to be reaped; this
// platform is not asked, and a process that has exited counts as alive
// until it is reaped.
func zombie(int) bool { return false }
