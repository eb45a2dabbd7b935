//go:build !unix

package local

import (
	"os"
	"os/exec"
)

// shareLock does nothing where a child cannot inherit the lock.
func shareLock(cmd *exec.Cmd, f, token *os.File) (closeCopies func()) { return func() {} }
