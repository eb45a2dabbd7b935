package cli

import (
	"slices"

	"github.com/singleinstance/singleinstance/cmd/singleinstance/internal/cmdline"
	"github.com/singleinstance/singleinstance/cmd/singleinstance/internal/etcdflags"
)

// The fast path of "run". A guarded program pays for run's start on every
// start of its own. parseFastRun recognises the plain form of that command
// line without building the command tree, as parseFastCheck does for
// check, and Main then calls the same (*app).run as the run command does,
// with run's defaults (no --wait, --conflict-exit-code 1, no --replace).
// Every other command line goes through the tree (fastrun_test.go runs
// both on a table of command lines).

// parseFastRun reports whether args is a plain run command line, and if
// so sets a's global flags from it and returns NAME and COMMAND. Plain
// means: before the first "--", the words "run" and NAME and only the
// global flags that parseFastCheck accepts; after it, at least one word
// (COMMAND), which is taken as it is. Not plain: any flag of run's own, a
// missing "--" or COMMAND, another word, a NAME starting with "-", and
// etcd (as for check).
func (a *app) parseFastRun(args []string, getenv func(string) string) (name string, argv []string, ok bool) {
	if getenv(etcdflags.EndpointsEnv) != "" {
		return "", nil, false
	}
	dash := slices.Index(args, "--")
	if dash < 0 || dash == len(args)-1 {
		return "", nil, false
	}
	var g plainArgs
	if !g.parse(args[:dash]) || len(g.words) != 2 || g.words[0] != "run" {
		return "", nil, false
	}
	a.lockDir, a.json, a.verbose = g.lockDir, g.json, g.verbose
	return g.words[1], slices.Clone(args[dash+1:]), true
}

// fastRunCommand returns the tree's run command (see fastCommand).
func fastRunCommand() *cmdline.Command { return fastCommand("run") }
