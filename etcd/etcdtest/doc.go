// Package etcdtest gives tests a real etcd server and a proxy that can
// simulate a network partition between a client and that server.
//
// It is meant for tests of programs that use the etcd backend: it links
// the etcd server, so import it from _test.go files only.
//
// Start runs an in-process etcd member listening on UNIX sockets, unless
// the environment variable named by EndpointsEnv lists the endpoints of an
// external cluster, in which case tests share that cluster. Tests should
// therefore keep their keys under a prefix obtained from Cluster.Prefix,
// which is unique per call and deleted when the test ends.
//
// NewProxy forwards connections to one endpoint; Proxy.Partition turns the
// proxy into a black hole (connections stay open but no bytes pass) and
// Proxy.Heal restores forwarding. Proxy.DelayReplies holds the server's
// answers back, so that a request takes effect on the server but its
// client times out first.
//
// StartMembers runs a cluster of several members in the process, each
// behind proxies of its own, so that a test can stop a member as if its
// host died, start it again, or cut it off from its peers (Members.Stop,
// Members.Restart, Members.Isolate).
//
// Everything started by this package is stopped by the cleanup functions it
// registers with testing.TB.Cleanup, so tests need no explicit teardown.
package etcdtest
