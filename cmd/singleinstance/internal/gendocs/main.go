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
// reproducible release archives), else today's.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/singleinstance/singleinstance/cmd/singleinstance/internal/cli"
	"github.com/singleinstance/singleinstance/cmd/singleinstance/internal/cmdline"
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
	date, err := pageDate()
	if err != nil {
		return nil, err
	}
	root := cli.Command()
	var files []string
	var walk func(c *cmdline.Command) error
	walk = func(c *cmdline.Command) error {
		if c.Parent() == nil || c.Documented() {
			path := filepath.Join(dir, ManPage(c))
			if err := os.WriteFile(path, []byte(page(c, root.Version, date)), 0o644); err != nil {
				return err
			}
			files = append(files, path)
		}
		for _, sub := range c.Commands() {
			if err := walk(sub); err != nil {
				return err
			}
		}
		return nil
	}
	return files, walk(root)
}

// pageDate is the date the pages carry: $SOURCE_DATE_EPOCH's, else today.
func pageDate() (time.Time, error) {
	epoch := os.Getenv("SOURCE_DATE_EPOCH")
	if epoch == "" {
		return time.Now().UTC(), nil
	}
	secs, err := strconv.ParseInt(epoch, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q: not a number of seconds", epoch)
	}
	return time.Unix(secs, 0).UTC(), nil
}

// ManPage is the file name of c's man page: its command path with dashes.
func ManPage(c *cmdline.Command) string {
	return strings.ReplaceAll(c.CommandPath(), " ", "-") + ".1"
}
