//go:build linux

package cli

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// unlockEnv makes the test binary, started as a guarded command, unlock
// the lock it inherited (descriptor 3) while keeping it and the name
// token (4) open, write its PID to the file the variable names, and wait
// to be stopped.
const unlockEnv = "SINGLEINSTANCE_CMD_TEST_UNLOCK_INHERITED"

func unlockInheritedMain(pidFile string) {
	unlock := unix.Flock_t{Type: unix.F_UNLCK}
	if err := unix.FcntlFlock(3, unix.F_OFD_SETLK, &unlock); err != nil {
		fmt.Fprintln(os.Stderr, "unlock descriptor 3:", err)
		os.Exit(2)
	}
	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	time.Sleep(time.Hour) // until the test stops it
	os.Exit(0)
}
