package etcd_test

import (
	"testing"
	"time"

	"github.com/singleinstance/singleinstance"
	"github.com/singleinstance/singleinstance/etcd"
	"github.com/singleinstance/singleinstance/etcd/etcdtest"
)

// Tests on a cluster of three members, as in production.

// TestClusterLeaderLoss: the etcd leader dies while a holder holds the
// lock. The remaining members elect a new leader and renew the holder's
// lease: the holder keeps the lock (its Lost never fires) and a standby
// keeps waiting.
func TestClusterLeaderLoss(t *testing.T) {
	t.Parallel()
	// Long enough for an election on a loaded machine: the holder must
	// keep the lock, which it cannot if the election outlasts its deadline.
	const ttl = 4 * time.Second
	forTrials(t, 1, 5, func(t *testing.T) {
		members := etcdtest.StartMembers(t, 3)
		c := members.Cluster()
		prefix := c.Prefix(t)
		holder := hold(t, host(t, c, prefix, etcd.WithTTL(ttl)), testName)
		waiting := make(chan struct{}, 1)
		standby := standBy(ctxFor(t, 30*time.Second), host(t, c, prefix, etcd.WithTTL(ttl),
			etcd.WithLogger(slogOf(&signalHandler{msg: "singleinstance/etcd: waiting for the lock", ch: waiting}))), testName)
		waitClosed(t, waiting, 10*time.Second, "standby waiting")

		leader := members.Leader(t)
		killed := time.Now()
		members.Stop(t, leader)
		next := members.Leader(t)
		failover := time.Since(killed)
		// The holder renews through the new leader: after two TTLs without
		// the old one it still holds the lock, and nobody else does.
		check := time.NewTimer(2 * testTTL)
		defer check.Stop()
		select {
		case <-holder.Lost():
			t.Fatalf("the holder lost the lock when the leader died: %v", holder.Err())
		case r := <-standby:
			t.Fatalf("the standby acquired while the holder held the lock: %v", r.err)
		case <-check.C:
		}
		t.Logf("leader %d killed; member %d led after %v; the holder kept the lock for %v", leader, next,
			failover.Round(time.Millisecond), ttl)
		if holder.Err() != nil {
			t.Fatalf("holder: %v", holder.Err())
		}
		st, err := singleinstance.Status(testName, singleinstance.WithBackend(host(t, c, prefix)))
		if err != nil || st.Holder == nil || st.Holder.Token != holder.Token() {
			t.Fatalf("status after the failover: %+v, %v", st, err)
		}
		// A release still hands over at once.
		released := time.Now()
		if err := holder.Release(); err != nil {
			t.Fatalf("release after the failover: %v", err)
		}
		r := <-standby
		if r.err != nil {
			t.Fatalf("standby: %v", r.err)
		}
		defer r.inst.Release()
		t.Logf("handover after the release: %v", r.at.Sub(released).Round(time.Millisecond))
	})
}

// TestClusterMinorityLeader: the leader is cut off from its two peers
// while the holder is attached to it alone and a standby to the other
// two. The holder cannot renew through a member without a quorum: its
// Lost fires at its deadline, before the majority, under a new leader,
// lets its lease expire and the standby take the lock. The holder's
// watches, which require a leader, are ended by its member instead of
// staying silent.
func TestClusterMinorityLeader(t *testing.T) {
	t.Parallel()
	forTrials(t, 1, 5, func(t *testing.T) {
		const ttl = 4 * time.Second // long enough for the member to end the watches first
		members := etcdtest.StartMembers(t, 3)
		c := members.Cluster()
		prefix := c.Prefix(t)
		leader := members.Leader(t)
		var majority []string
		for i := range members.Len() {
			if i != leader {
				majority = append(majority, members.Endpoint(i))
			}
		}
		logs := newLogRecorder()
		holderHost := hostOn(t, etcdtest.NewClient(t, members.Endpoint(leader)), prefix,
			etcd.WithTTL(ttl), etcd.WithLogger(slogOf(logs)))
		holder := hold(t, holderHost, testName)
		waiting := make(chan struct{}, 1)
		standbyHost := hostOn(t, etcdtest.NewClient(t, majority...), prefix, etcd.WithTTL(ttl),
			etcd.WithLogger(slogOf(&signalHandler{msg: "singleinstance/etcd: waiting for the lock", ch: waiting})))
		standby := standBy(ctxFor(t, 30*time.Second), standbyHost, testName)
		waitClosed(t, waiting, 10*time.Second, "standby waiting")

		isolated := time.Now()
		members.Isolate(leader)
		var lostAt time.Time
		select {
		case <-holder.Lost():
			lostAt = time.Now()
		case r := <-standby:
			t.Fatalf("the standby acquired (%v) before the holder's Lost fired", r.err)
		case <-time.After(2 * ttl):
			t.Fatal("the holder's Lost did not fire")
		}
		r := <-standby
		if r.err != nil {
			t.Fatalf("standby: %v", r.err)
		}
		defer r.inst.Release()
		t.Logf("TTL %v: the holder's Lost fired %v after the isolation, the standby held the lock %v after it (%v later)",
			ttl, lostAt.Sub(isolated).Round(time.Millisecond), r.at.Sub(isolated).Round(time.Millisecond),
			r.at.Sub(lostAt).Round(time.Millisecond))
		if r.inst.Token() <= holder.Token() {
			t.Fatalf("standby token %d not above %d", r.inst.Token(), holder.Token())
		}
		logs.wait(t, time.Second, "watch broke", "no leader")
		members.Rejoin(leader)
		// The old holder's release finds its lease gone; it claims nothing.
		holder.Release()
		if st, err := singleinstance.Status(testName, singleinstance.WithBackend(standbyHost)); err != nil ||
			st.Holder == nil || st.Holder.Token != r.inst.Token() {
			t.Fatalf("status after the rejoin: %+v, %v", st, err)
		}
	})
}

// TestClusterStopRequestAcrossIsolation: a stop request made on the
// majority while the holder's member is cut off reaches the holder once
// the member is back, although the holder's watches broke meanwhile
// (they require a leader): they resume from a read, missing nothing.
func TestClusterStopRequestAcrossIsolation(t *testing.T) {
	t.Parallel()
	forTrials(t, 1, 5, func(t *testing.T) {
		const ttl = 5 * time.Second // the holder survives the short isolation
		members := etcdtest.StartMembers(t, 3)
		c := members.Cluster()
		prefix := c.Prefix(t)
		leader := members.Leader(t)
		logs := newLogRecorder()
		holder := hold(t, hostOn(t, etcdtest.NewClient(t, members.Endpoint(leader)), prefix,
			etcd.WithTTL(ttl), etcd.WithLogger(slogOf(logs))), testName)
		other := hostOn(t, etcdtest.NewClient(t, members.Endpoint((leader+1)%3), members.Endpoint((leader+2)%3)), prefix)

		members.Isolate(leader)
		logs.wait(t, ttl, "watch broke", "no leader")
		stopped, err := singleinstance.KillRunning(testName, false, singleinstance.WithBackend(other),
			singleinstance.WithStopTimeout(0))
		if err != nil || !stopped {
			t.Fatalf("KillRunning on the majority: %v, %v", stopped, err)
		}
		members.Rejoin(leader)
		select {
		case <-holder.StopRequested():
		case <-holder.Lost():
			t.Fatalf("the holder lost the lock instead: %v", holder.Err())
		case <-time.After(ttl):
			t.Fatal("the stop request never reached the holder")
		}
	})
}
