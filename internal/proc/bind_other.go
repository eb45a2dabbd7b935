//go:build !linux && !freebsd && !windows

package proc

import "os/exec"

// BindToParent does nothing where the system cannot tie a child's life to
// its parent's (macOS and the other BSDs); see Instance.StartCommand.
func BindToParent(cmd *exec.Cmd) (afterStart func() error) {
	return func() error { return nil }
}
