// Command linked starts and exits at once, but links everything the
// singleinstance command links (a call of its command-line package's Main
// that never runs keeps the library and the whole command tree in) and
// runs the same package initialisation. The CLI benchmarks measure it as
// contender "golinked": what the singleinstance binary costs to start and
// end before it does anything, above an empty Go program's.
package main

import (
	"os"

	"github.com/singleinstance/singleinstance/cmd/singleinstance/internal/cli"
)

func main() {
	// Never true, but the linker cannot tell.
	if len(os.Args) > 1<<30 {
		os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, nil))
	}
}
