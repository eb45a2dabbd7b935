package cli

import (
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// Command returns the singleinstance command tree, with its help topics
// and completion commands, for tools that document it (internal/gendocs
// writes the man pages from it). It runs nothing.
func Command() *cobra.Command {
	a := &app{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard}
	root := a.rootCommand()
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	return root
}
