//go:build !linux

package singleinstance_test

import "os"

// awaitExitLeavingZombie waits until the child pid has exited; only Linux
// can leave it unreaped, which is what the callers test, so elsewhere it
// reaps it.
func awaitExitLeavingZombie(pid int) {
	if p, err := os.FindProcess(pid); err == nil {
		p.Wait()
	}
}

// runThreadExit is roleThreadExit, which only Linux runs.
func runThreadExit() int { return 3 }
