package cli

import (
	"io"
	"strings"

	"github.com/singleinstance/singleinstance/cmd/singleinstance/internal/cmdline"
)

// Command returns the singleinstance command tree, with its help topics
// and completion commands, for tools that document it (internal/gendocs
// writes the man pages from it). It runs nothing.
func Command() *cmdline.Command {
	a := &app{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard}
	return a.rootCommand()
}
