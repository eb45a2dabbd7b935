//go:build linux

package cli

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// unlockEnv makes the test binary, started as a guarded command, write
// its PID to the file the variable names, unlock the lock it inherited
// (descriptor 3) while keeping it and the name token (4) open, and wait
// to be stopped. "PIDFILE:GO" makes it wait for the file GO to exist
// before it unlocks; it then writes PIDFILE.unlocked.
const unlockEnv = "SINGLEINSTANCE_CMD_TEST_UNLOCK_INHERITED"

func unlockInheritedMain(arg string) {
	pidFile, goFile, _ := strings.Cut(arg, ":")
	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	for goFile != "" {
		if _, err := os.Stat(goFile); err == nil {
			break
		}
		time.Sleep(5 * time.Millisecond) // the test says when, by a file
	}
	unlock := unix.Flock_t{Type: unix.F_UNLCK}
	if err := unix.FcntlFlock(3, unix.F_OFD_SETLK, &unlock); err != nil {
		fmt.Fprintln(os.Stderr, "unlock descriptor 3:", err)
		os.Exit(2)
	}
	if goFile != "" {
		os.WriteFile(pidFile+".unlocked", nil, 0o600)
	}
	time.Sleep(time.Hour) // until the test stops it
	os.Exit(0)
}
