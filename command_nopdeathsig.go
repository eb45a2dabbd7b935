//go:build !linux && !freebsd

package singleinstance

import "os/exec"

// killWithParent does nothing where the kernel cannot tie a child's life to
// its parent's; see Instance.StartCommand.
func killWithParent(cmd *exec.Cmd) {}
