// Package etcd keeps singleinstance locks in an etcd cluster, so that one
// holder of a name runs across several machines: the high-availability
// form of the same guarantee the root package gives on one machine.
//
//	client, err := clientv3.New(clientv3.Config{Endpoints: endpoints})
//	...
//	backend, err := etcd.New(client)
//	...
//	err = singleinstance.Run("trading-bot", trade, singleinstance.WithBackend(backend))
//
// Each acquisition has its own etcd lease, kept alive by this package. The
// holder's key, under the prefix (default DefaultPrefix), stores the
// holder's description, and its create revision is the fencing token.
//
// # Losing the lock
//
// etcd deletes a holder's key when its lease expires: after the TTL
// (default DefaultTTL) without a keep-alive reaching the server, such as
// during a network partition. The holder must have stopped by then. The
// lease's Lost channel (Instance.Lost) is closed at the holder's own
// deadline: when the last keep-alive that the server confirmed was sent,
// plus the TTL, minus a safety margin. The server cannot have expired the
// lease before that instant, because it renewed the lease after the
// keep-alive was sent. A holder that reads Lost and stops has therefore
// stopped before any other machine can take the lock, provided the two
// machines' clocks run at the same rate within the margin and the holder
// is not paused (by a debugger, a frozen VM or a suspended laptop) across
// its deadline. etcd's own concurrency.Session reports the loss later,
// from when a keep-alive answer arrived, and checks only every 500 ms: a
// new holder can already run by then.
//
// # Fencing
//
// The token (Instance.Token) is the etcd revision that created the
// holder's key: it grows with every acquisition of any name in the
// cluster. A store that checks it can reject a stale holder's writes:
// IsOwner builds the comparison for an etcd transaction.
package etcd
