package cli

import (
	"fmt"
	"strings"

	"github.com/singleinstance/singleinstance/cmd/singleinstance/internal/cmdline"
	"github.com/singleinstance/singleinstance/cmd/singleinstance/internal/etcdflags"
)

// The fast path of "check". Scripts and health checks run "singleinstance
// check NAME" often. parseFastCheck recognises the plain forms of that
// command line without building the command tree (its ten commands and
// their flags), and Main then calls the same (*app).check as the check
// command does, so that the output and the exit code are the same. Every
// other command line, and any form of check it is not certain about, goes
// through the command tree: the fast path only ever accepts a subset of
// what the tree accepts, with the same meaning (fastcheck_test.go runs
// both on a table of command lines).

// parseFastCheck reports whether args is a plain check command line, and
// if so sets a's global flags from it and returns NAME. Plain means: the
// words "check" and NAME, and around them, before or after "check", only
// --json, -v, --verbose, --lock-dir DIR and --lock-dir=DIR, each any
// number of times (the last --lock-dir wins, as in the tree). Anything else
// is not plain: another flag, --help, "--", a NAME or DIR word starting
// with "-", missing or extra words. Neither is etcd: an --etcd flag falls
// under "another flag", and getenv is asked for $SINGLEINSTANCE_ETCD_ENDPOINTS.
// Without either, the check command would find no etcd settings, and its
// connect would do nothing, so the fast path skips it.
func (a *app) parseFastCheck(args []string, getenv func(string) string) (name string, ok bool) {
	if getenv(etcdflags.EndpointsEnv) != "" {
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
// times (the last --lock-dir wins, as in the tree).
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

// fastCheckCommand returns the tree's check command, as the tree has
// it when it runs, for the usage lines of a usage error (see fastCommand).
func fastCheckCommand() *cmdline.Command { return fastCommand("check") }

// fastCommand returns the tree's command name, as the tree has it when
// it runs, for the usage lines of a usage error. The fast paths need it
// only then, so they build the command tree only then, for an app of
// their own: registering the flags would reset a's.
func fastCommand(name string) *cmdline.Command {
	cmd, _ := new(app).rootCommand().Find([]string{name})
	if cmd.Name() != name {
		panic(fmt.Sprintf("no %s command", name)) // the tree always has it
	}
	return cmd
}
