//go:build unix

package main

import (
	"fmt"
	"os"
	"syscall"
)

// execOrRun replaces this process with path, keeping its PID.
func execOrRun(path string, args []string) int {
	err := syscall.Exec(path, append([]string{path}, args...), os.Environ())
	fmt.Fprintf(os.Stderr, "singleinstance: start %s: %v\n", path, err)
	return exitNoEtcdBuild
}
