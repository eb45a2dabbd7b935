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
// kept in an etcd cluster, so that one copy runs across hosts.
//
// Run "singleinstance help" for the details and exit codes.
package main

import (
	"os"
)

func main() {
	os.Exit(mainCode(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
