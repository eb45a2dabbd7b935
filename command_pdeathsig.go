//go:build linux || freebsd

package singleinstance

import (
	"os/exec"
	"syscall"
)

// killWithParent makes the kernel send SIGKILL to cmd when the thread that
// started it exits, which for a Go program is when the process dies.
func killWithParent(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
}
