package etcd_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/singleinstance/singleinstance"
	"github.com/singleinstance/singleinstance/etcd/etcdtest"
)

// TestStopRequestCancelsRun: KillRunning on another host asks the holder
// to stop; Run's context is cancelled with ErrStopRequested, its function
// returns, the lock is released, and KillRunning reports it.
func TestStopRequestCancelsRun(t *testing.T) {
	c := etcdtest.Start(t)
	prefix := c.Prefix(t)
	a, b := host(t, c, prefix), host(t, c, prefix)
	started := make(chan struct{})
	cause := make(chan error, 1)
	runErr := make(chan error, 1)
	go func() {
		runErr <- singleinstance.Run(testName, func(ctx context.Context) error {
			close(started)
			<-ctx.Done()
			cause <- context.Cause(ctx)
			return nil
		}, singleinstance.WithBackend(a))
	}()
	waitClosed(t, started, 10*time.Second, "Run started")

	stopped, err := singleinstance.KillRunning(testName, false, singleinstance.WithBackend(b))
	if err != nil || !stopped {
		t.Fatalf("KillRunning = %v, %v", stopped, err)
	}
	if err := <-cause; !errors.Is(err, singleinstance.ErrStopRequested) {
		t.Fatalf("Run's context ended with %v, want ErrStopRequested", err)
	}
	if err := <-runErr; err != nil {
		t.Fatalf("Run = %v", err)
	}
	if running, err := singleinstance.CheckRunning(testName, singleinstance.WithBackend(b)); err != nil || running {
		t.Fatalf("CheckRunning after stop = %v, %v", running, err)
	}
	// Nothing to stop now.
	if stopped, err := singleinstance.KillRunning(testName, false, singleinstance.WithBackend(b)); err != nil || stopped {
		t.Fatalf("KillRunning with no holder = %v, %v", stopped, err)
	}
}

// TestStopRequestIsForOneAcquisition: a stop request names the token it
// was made for; a later holder of the name ignores it.
func TestStopRequestIsForOneAcquisition(t *testing.T) {
	c := etcdtest.Start(t)
	prefix := c.Prefix(t)
	a, b := host(t, c, prefix), host(t, c, prefix)
	first := hold(t, a, testName)
	stopped, err := singleinstance.KillRunning(testName, false, singleinstance.WithBackend(b),
		singleinstance.WithStopTimeout(0))
	if err != nil || !stopped {
		t.Fatalf("KillRunning without wait = %v, %v", stopped, err)
	}
	waitClosed(t, first.StopRequested(), 5*time.Second, "StopRequested")
	if err := first.Release(); err != nil {
		t.Fatal(err)
	}
	second := hold(t, b, testName)
	// A stop request for the second holder reaches it; the first one's
	// request, still stored, did not.
	if isClosed(second.StopRequested()) {
		t.Fatal("the new holder took the old stop request as its own")
	}
	stopped, err = singleinstance.KillRunning(testName, false, singleinstance.WithBackend(a),
		singleinstance.WithStopTimeout(0))
	if err != nil || !stopped {
		t.Fatalf("second KillRunning = %v, %v", stopped, err)
	}
	waitClosed(t, second.StopRequested(), 5*time.Second, "StopRequested of the second holder")
}

// TestStopTimeoutAndForce: a holder that ignores the request is reported
// with ErrStopTimeout; with force it is fenced: its key is gone (IsOwner
// fails for its token), its Lost fires, no one can take the lock while the
// fence lasts, and afterwards anyone can.
func TestStopTimeoutAndForce(t *testing.T) {
	c := etcdtest.Start(t)
	prefix := c.Prefix(t)
	a, b := host(t, c, prefix), host(t, c, prefix)
	stubborn := hold(t, a, testName)
	opt := singleinstance.WithBackend(b)

	stopped, err := singleinstance.KillRunning(testName, false, opt, singleinstance.WithStopTimeout(100*time.Millisecond))
	if stopped || !errors.Is(err, singleinstance.ErrStopTimeout) {
		t.Fatalf("KillRunning of a stubborn holder = %v, %v; want ErrStopTimeout", stopped, err)
	}
	waitClosed(t, stubborn.StopRequested(), 5*time.Second, "StopRequested of the stubborn holder")
	if isClosed(stubborn.Lost()) {
		t.Fatal("a stop request without force took the lock away")
	}

	// While the forced stop runs, watch the fence from a third host.
	fenceSeen := make(chan *singleinstance.State, 1)
	third := host(t, c, prefix)
	ctx := ctxFor(t, 30*time.Second)
	go func() {
		for ctx.Err() == nil {
			st, err := singleinstance.Status(testName, singleinstance.WithBackend(third))
			if err == nil && st.Fenced {
				_, err := singleinstance.New(testName, singleinstance.WithBackend(third))
				// Stopping a fenced name waits no longer than asked.
				stopped, serr := singleinstance.KillRunning(testName, false, singleinstance.WithBackend(third),
					singleinstance.WithStopTimeout(10*time.Millisecond))
				if errors.Is(err, singleinstance.ErrAlreadyRunning) && stopped && serr == nil {
					fenceSeen <- st
				} else {
					fenceSeen <- nil
				}
				return
			}
			select {
			case <-stubborn.Lost():
			case <-ctx.Done():
			}
		}
	}()
	start := time.Now()
	stopped, err = singleinstance.KillRunning(testName, true, opt, singleinstance.WithStopTimeout(100*time.Millisecond))
	if err != nil || !stopped {
		t.Fatalf("KillRunning --force = %v, %v", stopped, err)
	}
	t.Logf("forced stop returned after %v", time.Since(start).Round(time.Millisecond))
	if !isClosed(stubborn.Lost()) || !errors.Is(stubborn.Err(), singleinstance.ErrLockLost) {
		t.Fatalf("the fenced holder was not told: %v", stubborn.Err())
	}
	select {
	case st := <-fenceSeen:
		if st == nil {
			t.Fatal("someone took the lock while the fence was up")
		}
		if st.Holder == nil || st.Holder.Token != stubborn.Token() || st.FencedUntil.IsZero() {
			t.Fatalf("fenced state = %+v", st)
		}
	case <-ctx.Done():
		t.Fatal("the fence was never seen")
	}
	next := hold(t, b, testName)
	if next.Token() <= stubborn.Token() {
		t.Fatalf("token after the fence %d, before %d", next.Token(), stubborn.Token())
	}
}
