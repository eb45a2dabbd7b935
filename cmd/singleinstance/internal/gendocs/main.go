// Command gendocs writes the man pages of the singleinstance command to a
// directory, generated from its command tree: singleinstance.1, one page
// per command (singleinstance-run.1, singleinstance-check.1, ...), and
// singleinstance-etcd.1 for the --etcd flags ("singleinstance help etcd").
// From the repository root:
//
//	go run ./cmd/singleinstance/internal/gendocs DIR
//
// and then, for example, install them with
//
//	install -m 644 DIR/*.1 /usr/local/share/man/man1/
//
// The pages carry the date in $SOURCE_DATE_EPOCH when it is set (for
// reproducible release archives), else today's. It lives apart from the
// singleinstance binary, which thus does not link the man page renderer.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/singleinstance/singleinstance/cmd/singleinstance/internal/cli"
	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

func main() {
	if len(os.Args) != 2 || strings.HasPrefix(os.Args[1], "-") {
		fmt.Fprintln(os.Stderr, "usage: go run ./cmd/singleinstance/internal/gendocs DIR")
		os.Exit(2)
	}
	files, err := generate(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "gendocs:", err)
		os.Exit(1)
	}
	fmt.Printf("wrote %d man pages to %s\n", len(files), os.Args[1])
}

// generate writes the man pages to dir, which it creates if needed, and
// returns their paths.
func generate(dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	root := cli.Command()
	root.DisableAutoGenTag = true
	forMan(root)
	header := &doc.GenManHeader{
		Section: "1",
		Source:  "singleinstance " + root.Version,
		Manual:  "singleinstance manual",
	}
	if err := doc.GenManTree(root, header, dir); err != nil {
		return nil, err
	}
	// GenManTree leaves out help topics: write them as pages of their own.
	for _, c := range root.Commands() {
		if !c.IsAdditionalHelpTopicCommand() {
			continue
		}
		if err := writeTopic(c, header, dir); err != nil {
			return nil, err
		}
	}
	return filepath.Glob(filepath.Join(dir, "*.1"))
}

// forMan rewrites the help text of c and its subcommands for the man page
// renderer, which reads it as Markdown: indented lines (tables, lists of
// exit codes) stay as they are, as preformatted text, and the * and _ of
// the other lines ($SINGLEINSTANCE_ETCD_*) are not taken for emphasis.
func forMan(c *cobra.Command) {
	lines := strings.Split(c.Long, "\n")
	for i, line := range lines {
		if strings.HasPrefix(line, "  ") {
			lines[i] = "    " + line
			continue
		}
		line = strings.ReplaceAll(line, "*", `\*`)
		lines[i] = strings.ReplaceAll(line, "_", `\_`)
	}
	c.Long = strings.Join(lines, "\n")
	for _, sub := range c.Commands() {
		forMan(sub)
	}
}

// writeTopic writes the man page of the help topic c.
func writeTopic(c *cobra.Command, header *doc.GenManHeader, dir string) error {
	h := *header
	f, err := os.Create(filepath.Join(dir, ManPage(c)))
	if err != nil {
		return err
	}
	if err := doc.GenMan(c, &h, f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// ManPage is the file name of c's man page: its command path with dashes,
// as GenManTree names them.
func ManPage(c *cobra.Command) string {
	return strings.ReplaceAll(c.CommandPath(), " ", "-") + ".1"
}
