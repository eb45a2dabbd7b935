package etcd_test

import (
	"context"
	"testing"
	"time"

	"github.com/singleinstance/singleinstance"
	"github.com/singleinstance/singleinstance/etcd"
	"github.com/singleinstance/singleinstance/etcd/etcdtest"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// TestLossCauseLogged: a holder whose key is deleted under it logs the
// real cause: its lease gone from the server (expired, or revoked), a
// delete by another client while its lease lived, or a forced stop.
func TestLossCauseLogged(t *testing.T) {
	c := etcdtest.Start(t)
	admin := c.Client(t)
	for _, tc := range []struct {
		name  string
		do    func(t *testing.T, prefix string, lease clientv3.LeaseID)
		cause string
	}{
		{"lease gone", func(t *testing.T, _ string, lease clientv3.LeaseID) {
			if _, err := admin.Revoke(ctxFor(t, 5*time.Second), lease); err != nil {
				t.Fatal(err)
			}
		}, "its lease expired on the server"},
		{"deleted by hand", func(t *testing.T, prefix string, _ clientv3.LeaseID) {
			if _, err := admin.Delete(ctxFor(t, 5*time.Second), prefix+"lock/"+testName); err != nil {
				t.Fatal(err)
			}
		}, "deleted by another client"},
		{"forced stop", func(t *testing.T, prefix string, _ clientv3.LeaseID) {
			// The forced stop then waits for its fence to expire: end it
			// with the test.
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			killer := host(t, c, prefix)
			go func() {
				defer close(done)
				singleinstance.KillRunningContext(ctx, testName, true, singleinstance.WithBackend(killer),
					singleinstance.WithStopTimeout(time.Millisecond))
			}()
			t.Cleanup(func() {
				cancel()
				<-done
			})
		}, "stopped by force"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prefix := c.Prefix(t)
			logs := newLogRecorder()
			inst := hold(t, host(t, c, prefix, etcd.WithLogger(slogOf(logs))), testName)
			resp, err := admin.Get(ctxFor(t, 5*time.Second), prefix+"lock/"+testName)
			if err != nil || len(resp.Kvs) != 1 {
				t.Fatalf("holder key: %v, %v", resp, err)
			}
			tc.do(t, prefix, clientv3.LeaseID(resp.Kvs[0].Lease))
			waitClosed(t, inst.Lost(), 5*time.Second, "Lost")
			r := logs.wait(t, 5*time.Second, "singleinstance/etcd: lock lost", tc.cause)
			t.Logf("logged: %s", r)
			for _, other := range []string{"expired", "by another client", "by force"} {
				if _, ok := logs.find("lock lost", other); ok && !contains(tc.cause, other) {
					t.Errorf("also logged a cause with %q", other)
				}
			}
		})
	}
}
