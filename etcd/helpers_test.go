package etcd_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/singleinstance/singleinstance"
	"github.com/singleinstance/singleinstance/etcd"
	"github.com/singleinstance/singleinstance/etcd/etcdtest"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// testTTL is the lease TTL of most tests: the shortest allowed, so that
// expiries happen quickly.
const testTTL = 2 * time.Second

// testName is the lock name of most tests.
const testName = "trading-bot"

// host is one simulated machine: its own client and Backend on a shared
// cluster, under the test's prefix.
func host(t testing.TB, c *etcdtest.Cluster, prefix string, opts ...etcd.Option) *etcd.Backend {
	t.Helper()
	return hostOn(t, c.Client(t), prefix, opts...)
}

// hostOn is host with a given client.
func hostOn(t testing.TB, client *clientv3.Client, prefix string, opts ...etcd.Option) *etcd.Backend {
	t.Helper()
	opts = append([]etcd.Option{etcd.WithPrefix(prefix), etcd.WithTTL(testTTL)}, opts...)
	b, err := etcd.New(client, opts...)
	if err != nil {
		t.Fatalf("etcd.New: %v", err)
	}
	return b
}

// hold takes the lock on b or fails the test; the lock is released when
// the test ends.
func hold(t testing.TB, b *etcd.Backend, name string, opts ...singleinstance.Option) *singleinstance.Instance {
	t.Helper()
	inst, err := singleinstance.New(name, append([]singleinstance.Option{singleinstance.WithBackend(b)}, opts...)...)
	if err != nil {
		t.Fatalf("New(%q) over etcd: %v", name, err)
	}
	t.Cleanup(func() { inst.Release() })
	return inst
}

// ctxFor returns a context that ends after d or with the test.
func ctxFor(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// isClosed reports whether ch is closed.
func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// waitClosed fails the test unless ch closes within d.
func waitClosed(t testing.TB, ch <-chan struct{}, d time.Duration, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(d):
		t.Fatalf("%s: not within %v", what, d)
	}
}

// wantConflict fails the test unless err is an *AlreadyRunningError whose
// holder has the given token.
func wantConflict(t testing.TB, err error, token uint64) *singleinstance.AlreadyRunningError {
	t.Helper()
	var conflict *singleinstance.AlreadyRunningError
	if !errors.As(err, &conflict) || !errors.Is(err, singleinstance.ErrAlreadyRunning) {
		t.Fatalf("err = %v, want *AlreadyRunningError", err)
	}
	if conflict.Holder == nil || conflict.Holder.Token != token {
		t.Fatalf("conflict holder = %+v, want token %d", conflict.Holder, token)
	}
	return conflict
}

// acquired is how a standby's wait for the lock ended, and when.
type acquired struct {
	inst *singleinstance.Instance
	err  error
	at   time.Time
}

// standBy waits for the lock name on b without limit (but for ctx), in a
// goroutine; the channel receives the outcome.
func standBy(ctx context.Context, b *etcd.Backend, name string) <-chan acquired {
	got := make(chan acquired, 1)
	go func() {
		inst, err := singleinstance.NewContext(ctx, name, singleinstance.WithBackend(b), singleinstance.WithTimeout(-1))
		got <- acquired{inst, err, time.Now()}
	}()
	return got
}
