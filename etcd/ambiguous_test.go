package etcd_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/singleinstance/singleinstance"
	"github.com/singleinstance/singleinstance/etcd"
	"github.com/singleinstance/singleinstance/etcd/etcdtest"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Requests carried out by the server whose answers reach the client too
// late ("ambiguous outcomes") must leave neither a stuck waiter nor a key
// that keeps others out. The proxy in front of the slow host delays every
// reply; the host's requests time out sooner.

// TestStalledTxnReplyClaimsOwnKey: a standby's acquiring transaction
// commits, but its answer arrives after the request timeout, so the key
// is attached to the standby's own lease, which it keeps renewing. When
// it asks again it must recognise its own key and hold the lock, instead
// of waiting on itself forever. The cluster has three members; the
// standby reaches one of them through the stalling proxy.
func TestStalledTxnReplyClaimsOwnKey(t *testing.T) {
	t.Parallel()
	forTrials(t, 1, 5, func(t *testing.T) {
		members := etcdtest.StartMembers(t, 3)
		c := members.Cluster()
		prefix := c.Prefix(t)
		proxy := etcdtest.NewProxy(t, members.Endpoint(0))
		waiting := make(chan struct{}, 1)
		retrying := make(chan struct{}, 1)
		claimed := make(chan struct{}, 1)
		logger := slog.New(multiSignal{
			"singleinstance/etcd: waiting for the lock":                                  waiting,
			"singleinstance/etcd: cluster not answering; still waiting for the lock":     retrying,
			"singleinstance/etcd: an earlier attempt took the lock; its answer was lost": claimed,
		})
		// Replies come twice the request timeout late. The standby's lease
		// must outlive that: each renewal is sent a third of the TTL after
		// the previous one was answered, and must be answered before the
		// deadline that one set (TTL minus margin after it was sent).
		const timeout = time.Second
		slow := hostOn(t, etcdtest.NewClient(t, proxy.Endpoint()), prefix,
			etcd.WithRequestTimeout(timeout), etcd.WithTTL(6*time.Second), etcd.WithLogger(logger))
		holder := hold(t, host(t, c, prefix), testName)
		got := standBy(ctxFor(t, 30*time.Second), slow, testName)
		select {
		case <-waiting:
		case r := <-got:
			t.Fatalf("the standby did not wait: %v", r.err)
		case <-time.After(10 * time.Second):
			t.Fatal("the standby is not waiting after 10s")
		}

		// The release wakes the standby, whose transaction then takes the
		// lock on the server while its answer is held back past the timeout.
		proxy.DelayReplies(2 * timeout)
		if err := holder.Release(); err != nil {
			t.Fatal(err)
		}
		waitClosed(t, retrying, 10*time.Second, "the standby's transaction timing out")
		proxy.DelayReplies(0)
		healed := time.Now()

		// The key is the standby's: it must hold the lock well within a TTL.
		var r acquired
		select {
		case r = <-got:
		case <-time.After(3 * testTTL):
			st, _ := singleinstance.Status(testName, singleinstance.WithBackend(host(t, c, prefix)))
			t.Fatalf("standby still waiting %v after the stall ended; the lock is held by %+v", 3*testTTL, st.Holder)
		}
		if r.err != nil {
			t.Fatalf("standby: %v", r.err)
		}
		defer r.inst.Release()
		t.Logf("standby held the lock %v after the stall ended", r.at.Sub(healed).Round(time.Millisecond))
		if !isClosed(claimed) { // the claim was logged
			t.Error("the standby did not hold the lock by claiming the key its stalled transaction took")
		}
		st, err := singleinstance.Status(testName, singleinstance.WithBackend(host(t, c, prefix)))
		if err != nil || st.Holder == nil || st.Holder.Token != r.inst.Token() {
			t.Fatalf("status %+v, %v; want the standby's token %d", st, err, r.inst.Token())
		}
		if isClosed(r.inst.Lost()) {
			t.Fatalf("the claimed lock is lost: %v", r.inst.Err())
		}
		// It is a real hold: a release frees the name at once.
		if err := r.inst.Release(); err != nil {
			t.Fatal(err)
		}
		hold(t, host(t, c, prefix), testName)
	})
}

// TestGrantAnsweredLate: a lease grant answered after the deadline the
// lease would have had is refused as an outage (without a crash or a
// race), as is one whose answer does not come within the request timeout
// (the server granted a lease all the same, which expires unused); the
// next attempt with prompt answers takes the lock.
func TestGrantAnsweredLate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		timeout time.Duration
	}{
		{"answered past the deadline", 5 * time.Second},
		{"timed out", time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := etcdtest.Start(t)
			prefix := c.Prefix(t)
			proxy := etcdtest.NewProxy(t, c.Endpoints()[0])
			slow := hostOn(t, etcdtest.NewClient(t, proxy.Endpoint()), prefix, etcd.WithRequestTimeout(tc.timeout))
			// Warm the connection, then answer later than TTL - margin
			// (1.6s).
			if _, err := singleinstance.CheckRunning(testName, singleinstance.WithBackend(slow)); err != nil {
				t.Fatal(err)
			}
			proxy.DelayReplies(testTTL)
			_, err := singleinstance.New(testName, singleinstance.WithBackend(slow))
			if !errors.Is(err, singleinstance.ErrUnavailable) {
				t.Fatalf("New with a late grant: %v, want ErrUnavailable", err)
			}
			t.Logf("late grant: %v", err)
			proxy.DelayReplies(0)
			// Once the late answers still on their way have arrived,
			// answers are prompt again; until then a read may time out.
			for attempt := 1; ; attempt++ {
				_, err := singleinstance.CheckRunning(testName, singleinstance.WithBackend(slow))
				if err == nil {
					break
				}
				if attempt == 5 {
					t.Fatal(err)
				}
			}
			inst := hold(t, slow, testName)
			if err := inst.Release(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestLeaseExpiresMidAcquire: the acquiring transaction succeeds, but its
// answer arrives after the new lease's deadline. The acquisition must not
// claim the lock, and must not leave the key behind to keep others out
// until the lease expires.
func TestLeaseExpiresMidAcquire(t *testing.T) {
	t.Parallel()
	forTrials(t, 1, 5, func(t *testing.T) {
		c := etcdtest.Start(t)
		prefix := c.Prefix(t)
		proxy := etcdtest.NewProxy(t, c.Endpoints()[0])
		slowClient := etcdtest.NewClient(t, proxy.Endpoint())
		// Once the lease is granted, the replies come later than its deadline.
		slowClient.Lease = afterGrant{slowClient.Lease, func() { proxy.DelayReplies(testTTL) }}
		slow := hostOn(t, slowClient, prefix, etcd.WithRequestTimeout(5*time.Second))
		_, err := singleinstance.New(testName, singleinstance.WithBackend(slow))
		if err == nil {
			t.Fatal("an acquisition answered after its lease's deadline claimed the lock")
		}
		t.Logf("acquisition answered late: %v", err)
		// Nothing is left behind: another host takes the lock at once.
		inst, err := singleinstance.New(testName, singleinstance.WithBackend(host(t, c, prefix)))
		if err != nil {
			t.Fatalf("another host after the late acquisition: %v", err)
		}
		inst.Release()
		proxy.DelayReplies(0)
	})
}

// afterGrant is a clientv3.Lease that calls then after each grant.
type afterGrant struct {
	clientv3.Lease
	then func()
}

func (a afterGrant) Grant(ctx context.Context, ttl int64) (*clientv3.LeaseGrantResponse, error) {
	resp, err := a.Lease.Grant(ctx, ttl)
	a.then()
	return resp, err
}

// multiSignal is a slog.Handler that sends on the channel for a record's
// message, without blocking, and drops everything.
type multiSignal map[string]chan struct{}

func (h multiSignal) Enabled(context.Context, slog.Level) bool { return true }
func (h multiSignal) Handle(_ context.Context, r slog.Record) error {
	if ch, ok := h[r.Message]; ok {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	return nil
}
func (h multiSignal) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h multiSignal) WithGroup(string) slog.Handler      { return h }

// TestStalledTryAcquireLeavesNoKey: an acquisition that does not wait,
// whose transaction takes the key but answers after the request timeout,
// fails as an outage, and its cleanup (the revocation of its lease, also
// answered late) deletes the key: another host takes the lock at once.
func TestStalledTryAcquireLeavesNoKey(t *testing.T) {
	c := etcdtest.Start(t)
	prefix := c.Prefix(t)
	proxy := etcdtest.NewProxy(t, c.Endpoints()[0])
	slowClient := etcdtest.NewClient(t, proxy.Endpoint())
	slowClient.Lease = afterGrant{slowClient.Lease, func() { proxy.DelayReplies(time.Second) }}
	slow := hostOn(t, slowClient, prefix, etcd.WithRequestTimeout(300*time.Millisecond))
	_, err := singleinstance.New(testName, singleinstance.WithBackend(slow))
	if !errors.Is(err, singleinstance.ErrUnavailable) {
		t.Fatalf("New with a stalled transaction: %v, want ErrUnavailable", err)
	}
	inst, err := singleinstance.New(testName, singleinstance.WithBackend(host(t, c, prefix)))
	if err != nil {
		t.Fatalf("another host after the stalled acquisition: %v", err)
	}
	inst.Release()
}

// TestStalledReleaseFreesTheName: a release whose revocation takes effect
// but answers after the release timeout reports that it was not
// confirmed, and the name is free all the same.
func TestStalledReleaseFreesTheName(t *testing.T) {
	c := etcdtest.Start(t)
	prefix := c.Prefix(t)
	proxy := etcdtest.NewProxy(t, c.Endpoints()[0])
	slow := hostOn(t, etcdtest.NewClient(t, proxy.Endpoint()), prefix)
	inst := hold(t, slow, testName)
	proxy.DelayReplies(2 * etcd.DefaultReleaseTimeout)
	start := time.Now()
	err := inst.Release()
	took := time.Since(start)
	if !errors.Is(err, singleinstance.ErrUnavailable) || !strings.Contains(err.Error(), "the key stays until the lease expires") {
		t.Fatalf("Release with a stalled answer: %v", err)
	}
	if took > 4*etcd.DefaultReleaseTimeout { // not the request timeout (5s)
		t.Errorf("Release took %v", took)
	}
	other, err := singleinstance.New(testName, singleinstance.WithBackend(host(t, c, prefix)))
	if err != nil {
		t.Fatalf("another host after the stalled release: %v", err)
	}
	other.Release()
	proxy.DelayReplies(0)
}
