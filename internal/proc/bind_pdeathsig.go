//go:build linux || freebsd

package proc

import (
	"os/exec"
	"syscall"
)

// BindToParent makes the kernel send SIGKILL to cmd when the thread that
// starts it exits, which for a Go program is when the process dies. The
// returned function, called after cmd started, has nothing left to do.
func BindToParent(cmd *exec.Cmd) (afterStart func() error) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	return func() error { return nil }
}
