//go:build unix

package singleinstance

import (
	"os"
	"os/exec"
)

// shareLock passes the locked file to the child as an extra descriptor: the
// child's copy refers to the same open file description, so it holds the
// same lock.
func shareLock(cmd *exec.Cmd, f *os.File) { cmd.ExtraFiles = append(cmd.ExtraFiles, f) }
