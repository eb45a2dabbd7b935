package cli

import (
	"strings"

	"github.com/singleinstance/singleinstance/cmd/singleinstance/internal/cmdline"
)

// etcdTopic is the name of the help topic that lists the etcd flags
// ("singleinstance help etcd"), which every command accepts but whose
// help leaves out.
const etcdTopic = "etcd"

// etcdHelpLine ends each command's help instead of the ten --etcd* flags.
const etcdHelpLine = `Locks across hosts: --etcd ENDPOINTS and the other --etcd-* flags, see "singleinstance help etcd".`

// isEtcdFlag reports whether name is one of the --etcd* flags.
func isEtcdFlag(name string) bool {
	return name == "etcd" || strings.HasPrefix(name, "etcd-")
}

// hideEtcdFlags hides the --etcd* flags of fs from the help of every
// command; they keep working, and "help etcd" lists them.
func hideEtcdFlags(fs *cmdline.FlagSet) {
	for _, f := range fs.All() {
		if isEtcdFlag(f.Name) {
			f.Hidden = true
		}
	}
}

// etcdTopicCommand is "singleinstance help etcd": what the etcd flags do
// and the list of them, with their variables and defaults.
func (a *app) etcdTopicCommand() *cmdline.Command {
	var fs cmdline.FlagSet
	var scratch etcdFlags
	scratch.register(&fs)
	return &cmdline.Command{
		Use:   etcdTopic,
		Short: "Keep the locks in an etcd cluster, so that one copy runs across hosts: the --etcd flags",
		Long: `Across hosts: with --etcd ENDPOINTS (else $SINGLEINSTANCE_ETCD_ENDPOINTS) the
locks are kept in that etcd cluster instead of the lock directory, so that
one copy runs across every machine that uses it, and every command (run,
check, status, kill, list, wait) works over etcd; --lock-dir cannot be
given then, and --etcd '' turns it off. Each --etcd-* flag falls back to
its $SINGLEINSTANCE_ETCD_* variable. A password given with --etcd-password
or --etcd-user user:password is visible to other users of the machine:
prefer $SINGLEINSTANCE_ETCD_PASSWORD.

The singleinstance binary does not link the etcd client: it hands a
command line that names etcd to singleinstance-etcd (next to it, or on
$PATH), which is the same command with etcd support.

These flags go before or after the command, like --lock-dir:

` + strings.TrimRight(fs.Usages(), "\n") + `

Exit 2 for settings that cannot work (a TTL below 2s, bad certificate
files), 3 if etcd refuses the credentials, 4 if it could not be reached
or did not answer in time: then nothing was decided.`,
	}
}
