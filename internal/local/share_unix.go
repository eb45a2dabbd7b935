//go:build unix

package local

import (
	"os"
	"os/exec"
)

// shareLock passes the locked file and then the name token, if any, to the
// child after the caller's own extra files (as descriptors 3 and 4 when
// there are none): its copies refer to the same open file descriptions, so
// it holds the same lock and token.
func shareLock(cmd *exec.Cmd, f, token *os.File) {
	cmd.ExtraFiles = append(cmd.ExtraFiles, f)
	if token != nil {
		cmd.ExtraFiles = append(cmd.ExtraFiles, token)
	}
}
