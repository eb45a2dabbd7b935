// Command singleinstance guards any program so that only one copy runs,
// checks whether one runs, shows who holds it, and stops it.
//
//	singleinstance run [--wait D] [--conflict-exit-code N] [--replace] NAME -- COMMAND [ARGS...]
//	singleinstance check NAME
//	singleinstance kill [--force] [--timeout D] NAME
//	singleinstance status NAME
//	singleinstance list
//	singleinstance wait [--until free|held] [--timeout D] NAME
//
// With --etcd ENDPOINTS (or $SINGLEINSTANCE_ETCD_ENDPOINTS) the locks are
// kept in an etcd cluster, so that one copy runs across hosts. This binary
// does not link the etcd client, which would slow every start: it hands
// such command lines to singleinstance-etcd (next to it, or on $PATH),
// which is the same command with etcd support.
//
// Run "singleinstance help" for the details and exit codes.
package main

import (
	"os"

	"github.com/singleinstance/singleinstance/cmd/singleinstance/internal/cli"
	"github.com/singleinstance/singleinstance/cmd/singleinstance/internal/etcdflags"
)

func main() {
	args := os.Args[1:]
	if etcdflags.Requested(args, os.Getenv) {
		os.Exit(runEtcdBuild(args))
	}
	os.Exit(cli.Main(args, os.Stdin, os.Stdout, os.Stderr, nil))
}
