//go:build !linux

package cli

import (
	"errors"
	"os"
	"time"
)

// Only Linux has child subreapers; elsewhere processes the command leaves
// behind go to init, and run does not wait for them.
func becomeSubreaper() error { return errors.ErrUnsupported }

// childExitSignals is empty: nothing to reap.
var childExitSignals []os.Signal

func reapOrphans(keep int) {}

func awaitAnyExit(pids []int, max time.Duration) { time.Sleep(max) }
