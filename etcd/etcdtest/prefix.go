package etcdtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// PrefixRoot is the common beginning of the prefixes returned by Prefix.
const PrefixRoot = "/singleinstance-test/"

// cleanupTimeout bounds the deletion of a test's keys.
const cleanupTimeout = 5 * time.Second

// Prefix returns a key prefix unique to this call, of the form
// PrefixRoot + "<16 hex digits>/", so that tests sharing an external
// cluster do not see each other's keys. When the test ends every key under
// the prefix is deleted (best effort: failures are only logged).
func (c *Cluster) Prefix(t testing.TB) string {
	t.Helper()
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	prefix := PrefixRoot + hex.EncodeToString(b[:]) + "/"
	t.Cleanup(func() {
		if err := c.deletePrefix(prefix); err != nil {
			t.Logf("etcdtest: deleting keys under %s: %v", prefix, err)
		}
	})
	return prefix
}

// deletePrefix deletes every key under prefix using a fresh client, since
// the test's own clients may be closed or stuck behind a partition.
func (c *Cluster) deletePrefix(prefix string) error {
	cli, err := newClient(c.endpoints)
	if err != nil {
		return err
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	_, err = cli.Delete(ctx, prefix, clientv3.WithPrefix())
	return err
}
