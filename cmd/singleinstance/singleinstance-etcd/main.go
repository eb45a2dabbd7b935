// Command singleinstance-etcd is the singleinstance command with etcd
// support: the same commands and flags, and --etcd ENDPOINTS (or
// $SINGLEINSTANCE_ETCD_ENDPOINTS) keeps the locks in an etcd cluster, so
// that one copy of a program runs across hosts. singleinstance hands it
// every command line that names etcd; it can also be run directly.
package main

import (
	"os"

	"github.com/singleinstance/singleinstance/cmd/singleinstance/internal/cli"
	"github.com/singleinstance/singleinstance/cmd/singleinstance/internal/etcdcli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, etcdcli.Connect))
}
