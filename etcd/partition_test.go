package etcd_test

import (
	"context"
	"testing"
	"time"

	"github.com/singleinstance/singleinstance/etcd"
	"github.com/singleinstance/singleinstance/etcd/etcdtest"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// partitionTrials is how many partitions TestPartition runs (at once);
// a soak runs more.
var partitionTrials = trials(20, 60)

// trial is what one partition showed, for this package's lock and for a
// naive lock on etcd's concurrency.Session and Mutex side by side.
type trial struct {
	lostBeforeTakeover time.Duration // > 0: Lost fired that long before the standby held the lock
	naiveOverlap       time.Duration // > 0: Session.Done fired that long after the standby held the lock
}

// TestPartition cuts holders off from etcd, in many trials at once. The
// holder's Lost must fire before a standby, connected directly, acquires:
// never two holders. A holder that waits for etcd's Session.Done instead
// is shown to still believe it holds the lock after the standby took it.
func TestPartition(t *testing.T) {
	c := etcdtest.Start(t)
	ctx := ctxFor(t, 60*time.Second)
	trials := make([]*partitioned, partitionTrials)
	for i := range trials {
		trials[i] = setUpPartition(t, ctx, c)
	}
	for _, p := range trials {
		p.proxy.Partition()
	}
	minLead, overlaps, maxOverlap := time.Duration(1<<62), 0, time.Duration(0)
	for _, p := range trials {
		r := p.result(t, ctx)
		minLead = min(minLead, r.lostBeforeTakeover)
		if r.naiveOverlap > 0 {
			overlaps++
			maxOverlap = max(maxOverlap, r.naiveOverlap)
		}
		// Let the releases at cleanup reach etcd.
		p.proxy.Heal()
	}
	t.Logf("%d partitions: Lost fired at least %v before the standby acquired (0 overlaps); "+
		"naive Session.Done overlapped the standby in %d, by up to %v",
		len(trials), minLead.Round(time.Millisecond), overlaps, maxOverlap.Round(time.Millisecond))
	if minLead <= 0 {
		t.Errorf("Lost fired after the standby acquired (by %v)", -minLead)
	}
	if overlaps == 0 {
		t.Errorf("the naive Session.Done lock never overlapped in %d partitions; the comparison shows nothing", len(trials))
	}
}

// partitioned is one trial: a holder of each kind behind its own proxy, a
// standby of each kind connected directly and waiting.
type partitioned struct {
	proxy *etcdtest.Proxy
	// Times at which the holder's Lost and the naive Session.Done fired,
	// and at which each standby acquired (zero if it failed).
	lostAt, naiveDoneAt, standbyAt, naiveStandbyAt chan time.Time
}

func setUpPartition(t *testing.T, ctx context.Context, c *etcdtest.Cluster) *partitioned {
	prefix := c.Prefix(t)
	p := &partitioned{
		proxy:          etcdtest.NewProxy(t, c.Endpoints()[0]),
		lostAt:         make(chan time.Time, 1),
		naiveDoneAt:    make(chan time.Time, 1),
		standbyAt:      make(chan time.Time, 1),
		naiveStandbyAt: make(chan time.Time, 1),
	}
	cutClient := etcdtest.NewClient(t, p.proxy.Endpoint())
	directClient := c.Client(t)

	// This package's lock.
	holderBackend := hostOn(t, cutClient, prefix, etcd.WithRequestTimeout(500*time.Millisecond))
	standbyBackend := hostOn(t, directClient, prefix)
	holder := hold(t, holderBackend, testName)
	go func() {
		select {
		case <-holder.Lost():
			p.lostAt <- time.Now()
		case <-ctx.Done():
			p.lostAt <- time.Time{}
		}
	}()
	ours := standBy(ctx, standbyBackend, testName)
	go func() {
		r := <-ours
		if r.err != nil {
			t.Errorf("standby: %v", r.err)
			p.standbyAt <- time.Time{}
			return
		}
		p.standbyAt <- r.at
		r.inst.Release()
	}()

	// The naive lock: etcd's Mutex on a Session, the holder trusting
	// Session.Done.
	ttl := concurrency.WithTTL(int(testTTL / time.Second))
	naive, err := concurrency.NewSession(cutClient, ttl)
	if err != nil {
		t.Fatal(err)
	}
	if err := concurrency.NewMutex(naive, prefix+"naive").Lock(ctx); err != nil {
		t.Fatal(err)
	}
	go func() {
		select {
		case <-naive.Done():
			p.naiveDoneAt <- time.Now()
		case <-ctx.Done():
			p.naiveDoneAt <- time.Time{}
		}
	}()
	standby, err := concurrency.NewSession(directClient, ttl)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		defer standby.Orphan()
		if err := concurrency.NewMutex(standby, prefix+"naive").Lock(ctx); err != nil {
			t.Errorf("naive standby: %v", err)
			p.naiveStandbyAt <- time.Time{}
			return
		}
		p.naiveStandbyAt <- time.Now()
	}()
	return p
}

// result waits for the trial's four events.
func (p *partitioned) result(t *testing.T, ctx context.Context) trial {
	lostAt, naiveDoneAt := <-p.lostAt, <-p.naiveDoneAt
	standbyAt, naiveStandbyAt := <-p.standbyAt, <-p.naiveStandbyAt
	for _, at := range []time.Time{lostAt, naiveDoneAt, standbyAt, naiveStandbyAt} {
		if at.IsZero() {
			t.Fatalf("a partition trial did not finish: %v", ctx.Err())
		}
	}
	return trial{
		lostBeforeTakeover: standbyAt.Sub(lostAt),
		naiveOverlap:       naiveDoneAt.Sub(naiveStandbyAt),
	}
}
