package etcd

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/singleinstance/singleinstance"
	"github.com/singleinstance/singleinstance/etcd/etcdtest"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// TestStopRequestBeforeCompaction: a stop request for this acquisition
// put before the holder's watches start, at a revision that the cluster
// has compacted away since: the watches fail (compacted), and the holder
// must find the request by reading the stop key, not resume watching
// after the revision that the error reported, past the request.
func TestStopRequestBeforeCompaction(t *testing.T) {
	c := etcdtest.Start(t)
	client := c.Client(t)
	b, err := New(client, WithPrefix(c.Prefix(t)), WithTTL(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sess, err := b.grant(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const name = "trading-bot"
	h := singleinstance.Holder{PID: 1}
	resp, err := b.tryOnce(ctx, name, sess, &h)
	if err != nil || !resp.Succeeded {
		t.Fatalf("acquire: %v, %v", resp, err)
	}
	token := uint64(resp.Header.Revision)
	if _, err := client.Put(ctx, b.stopKey(name), strconv.FormatUint(token, 10)); err != nil {
		t.Fatal(err)
	}
	put, err := client.Put(ctx, b.prefix+"other", "x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.Compact(ctx, put.Header.Revision, clientv3.WithCompactPhysical()); err != nil {
		t.Fatal(err)
	}
	hd := b.newHold(name, sess, token, h)
	defer hd.Release()
	select {
	case <-hd.StopRequested():
	case <-hd.Lost():
		t.Fatalf("lost: %v", hd.Err())
	case <-time.After(5 * time.Second):
		t.Fatal("the stop request put before the compaction was missed")
	}
}
