package cli

import (
	"fmt"
	"runtime"
	"strings"

	"github.com/singleinstance/singleinstance/cmd/singleinstance/internal/etcdflags"
	"github.com/spf13/cobra"
)

// The fast path of "check". Scripts and health checks run "singleinstance
// check NAME" often, and building the cobra command tree and parsing with
// it was about a tenth of the run time of a check. parseFastCheck recognises
// the plain forms of that command line without cobra, and Main then calls
// the same (*app).check as the cobra command does, so that the output and
// the exit code are the same. Every other command line, and any form of
// check it is not certain about, goes through cobra as before: the fast
// path only ever accepts a subset of what cobra accepts, with the same
// meaning (fastcheck_test.go runs both on a table of command lines).

// parseFastCheck reports whether args is a plain check command line, and
// if so sets a's global flags from it and returns NAME. Plain means: the
// words "check" and NAME, and around them, before or after "check", only
// --json, -v, --verbose, --lock-dir DIR and --lock-dir=DIR, each any
// number of times (the last --lock-dir wins, as with cobra). Anything else
// is not plain: another flag, --help, "--", a NAME or DIR word starting
// with "-", missing or extra words. Neither is etcd: an --etcd flag falls
// under "another flag", and getenv is asked for $SINGLEINSTANCE_ETCD_ENDPOINTS.
// Without either, cobra's check would find no etcd settings, and its
// connect would do nothing, so the fast path skips it.
//
// On Windows the fast path is off: cobra first checks there whether
// Explorer started the program, to explain that it is a command-line tool.
func (a *app) parseFastCheck(args []string, getenv func(string) string) (name string, ok bool) {
	if runtime.GOOS == "windows" || getenv(etcdflags.EndpointsEnv) != "" {
		return "", false
	}
	var g plainArgs
	if !g.parse(args) || len(g.words) != 2 || g.words[0] != "check" {
		return "", false
	}
	a.lockDir, a.json, a.verbose = g.lockDir, g.json, g.verbose
	return g.words[1], true
}

// plainArgs is a command line of words and plain global flags only: --json,
// -v, --verbose, --lock-dir DIR and --lock-dir=DIR, each any number of
// times (the last --lock-dir wins, as with cobra).
type plainArgs struct {
	words         []string
	lockDir       string
	json, verbose bool
}

// parse reads args into g. It reports false at anything else: another
// flag (--help and "--" included), or a DIR word starting with "-".
func (g *plainArgs) parse(args []string) bool {
	for i := 0; i < len(args); i++ {
		switch arg := args[i]; {
		case arg == "--json":
			g.json = true
		case arg == "-v" || arg == "--verbose":
			g.verbose = true
		case arg == "--lock-dir":
			if i+1 == len(args) || strings.HasPrefix(args[i+1], "-") {
				return false
			}
			i++
			g.lockDir = args[i]
		case strings.HasPrefix(arg, "--lock-dir="):
			g.lockDir = strings.TrimPrefix(arg, "--lock-dir=")
		case strings.HasPrefix(arg, "-"):
			return false
		default:
			g.words = append(g.words, arg)
		}
	}
	return true
}

// fastCheckCommand returns cobra's check command, as the cobra path has
// it when it runs, for the usage lines of a usage error (see fastCommand).
func fastCheckCommand() *cobra.Command { return fastCommand("check") }

// fastCommand returns cobra's command name, as the cobra path has it when
// it runs, for the usage lines of a usage error. The fast paths need it
// only then, so they build the command tree only then, for an app of
// their own: registering the flags would reset a's.
func fastCommand(name string) *cobra.Command {
	cmd, _, err := new(app).rootCommand().Find([]string{name})
	if err != nil || cmd.Name() != name {
		panic(fmt.Sprintf("no %s command: %v", name, err)) // the tree always has it
	}
	cmd.InitDefaultHelpFlag() // merges the global flags, as running it does
	return cmd
}
