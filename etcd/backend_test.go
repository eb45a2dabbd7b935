package etcd_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/singleinstance/singleinstance"
	"github.com/singleinstance/singleinstance/etcd"
	"github.com/singleinstance/singleinstance/etcd/etcdtest"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// TestAcquireDescribeRelease takes a lock on one host and looks at it from
// another: the description is the holder's, the token is the key's create
// revision, and after Release the name is free and the next token larger.
func TestAcquireDescribeRelease(t *testing.T) {
	c := etcdtest.Start(t)
	prefix := c.Prefix(t)
	a, b := host(t, c, prefix), host(t, c, prefix)

	inst := hold(t, a, testName)
	token := inst.Token()
	resp, err := c.Client(t).Get(ctxFor(t, 5*time.Second), prefix+"lock/"+testName)
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("holder key: %v, %v", resp, err)
	}
	if got := uint64(resp.Kvs[0].CreateRevision); got != token {
		t.Fatalf("token %d, key created at revision %d", token, got)
	}

	st, err := singleinstance.Status(testName, singleinstance.WithBackend(b))
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	if !st.Running || !st.Verified || st.Holder == nil || st.Key != prefix+"lock/"+testName || st.Backend == "" {
		t.Fatalf("Status = %+v", st)
	}
	host, _ := os.Hostname()
	h := st.Holder
	if h.PID != os.Getpid() || h.Host != host || h.Token != token || h.Executable == "" ||
		len(h.Argv) == 0 || h.User == "" || h.Started.IsZero() || h.AcquiredAt.IsZero() {
		t.Fatalf("holder = %+v", h)
	}
	if !st.Visible {
		t.Errorf("a holder on this machine should be visible")
	}
	if running, err := singleinstance.CheckRunning(testName, singleinstance.WithBackend(b)); err != nil || !running {
		t.Fatalf("CheckRunning = %v, %v", running, err)
	}

	states, err := singleinstance.List(context.Background(), singleinstance.WithBackend(b))
	if err != nil || len(states) != 1 || states[0].Name != testName || !states[0].Running {
		t.Fatalf("List = %v, %v", states, err)
	}

	if err := inst.Release(); err != nil {
		t.Fatalf("Release: %v", err)
	}
	if err := inst.Release(); err != nil {
		t.Fatalf("second Release: %v", err)
	}
	if isClosed(inst.Lost()) || inst.Err() != nil {
		t.Fatalf("Release fired Lost: %v", inst.Err())
	}
	if running, err := singleinstance.CheckRunning(testName, singleinstance.WithBackend(b)); err != nil || running {
		t.Fatalf("CheckRunning after release = %v, %v", running, err)
	}
	next := hold(t, b, testName)
	if next.Token() <= token {
		t.Fatalf("next token %d not above %d", next.Token(), token)
	}
}

// TestConflictNamesHolder: a second acquisition, from another host or
// from the same Backend, fails at once with the holder's details, and
// never shares the first one's lease.
func TestConflictNamesHolder(t *testing.T) {
	c := etcdtest.Start(t)
	prefix := c.Prefix(t)
	a, b := host(t, c, prefix, etcd.WithStopHint("--etcd host1:2379")), host(t, c, prefix)
	inst := hold(t, a, testName)

	for _, backend := range []*etcd.Backend{a, b} {
		_, err := singleinstance.New(testName, singleinstance.WithBackend(backend))
		conflict := wantConflict(t, err, inst.Token())
		if conflict.Holder.PID != os.Getpid() || !conflict.Visible {
			t.Fatalf("conflict holder pid %d, visible %v; want this process, visible", conflict.Holder.PID, conflict.Visible)
		}
		if !strings.Contains(conflict.Report(), "singleinstance --etcd ") {
			t.Fatalf("report does not say how to stop it over etcd:\n%s", conflict.Report())
		}
	}
	// A wait that times out reports the wait.
	_, err := singleinstance.New(testName, singleinstance.WithBackend(b), singleinstance.WithTimeout(50*time.Millisecond))
	conflict := wantConflict(t, err, inst.Token())
	if !errors.Is(err, context.DeadlineExceeded) || conflict.Waited < 50*time.Millisecond {
		t.Fatalf("timed-out wait: %v (waited %v)", err, conflict.Waited)
	}
	// Other names are independent.
	other := hold(t, b, "other-bot")
	if other.Token() == inst.Token() {
		t.Fatal("two acquisitions share a token")
	}
}

// TestInvalidConfig: settings that cannot work are refused.
func TestInvalidConfig(t *testing.T) {
	c := etcdtest.Start(t)
	client := c.Client(t)
	for _, tc := range []struct {
		name string
		opts []etcd.Option
	}{
		{"ttl below minimum", []etcd.Option{etcd.WithTTL(time.Second)}},
		{"margin half the ttl", []etcd.Option{etcd.WithTTL(4 * time.Second), etcd.WithSafetyMargin(2 * time.Second)}},
		{"negative margin", []etcd.Option{etcd.WithSafetyMargin(-time.Second)}},
		{"empty prefix", []etcd.Option{etcd.WithPrefix("")}},
		{"zero request timeout", []etcd.Option{etcd.WithRequestTimeout(-1)}},
	} {
		if _, err := etcd.New(client, tc.opts...); !errors.Is(err, etcd.ErrInvalidConfig) {
			t.Errorf("%s: err = %v, want ErrInvalidConfig", tc.name, err)
		}
	}
	if _, err := etcd.New(nil); !errors.Is(err, etcd.ErrInvalidConfig) {
		t.Errorf("nil client: %v", err)
	}
	b, err := etcd.New(client, etcd.WithTTL(2500*time.Millisecond), etcd.WithPrefix("/x"))
	if err != nil || b.TTL() != 3*time.Second || b.SafetyMargin() != 600*time.Millisecond {
		t.Fatalf("TTL rounding: %v, ttl %v margin %v", err, b.TTL(), b.SafetyMargin())
	}
	if _, err := etcd.Dial(context.Background(), etcd.Config{}); !errors.Is(err, etcd.ErrInvalidConfig) {
		t.Errorf("Dial without endpoints: %v", err)
	}
	if _, err := etcd.Dial(context.Background(), etcd.Config{Endpoints: c.Endpoints(), Cert: "/nonexistent"}); !errors.Is(err, etcd.ErrInvalidConfig) {
		t.Errorf("Dial with a certificate but no key: %v", err)
	}
}

// TestUnreachable: a cluster that cannot be reached is an error matching
// ErrUnavailable, within the dial or request timeout, and never "not
// running".
func TestUnreachable(t *testing.T) {
	start := time.Now()
	_, err := etcd.Dial(context.Background(), etcd.Config{
		Endpoints:   []string{"unix://" + t.TempDir() + "/no-etcd.sock"},
		DialTimeout: 300 * time.Millisecond,
	})
	if !errors.Is(err, singleinstance.ErrUnavailable) {
		t.Fatalf("Dial to nothing: %v", err)
	}
	t.Logf("Dial gave up after %v: %v", time.Since(start).Round(time.Millisecond), err)

	c := etcdtest.Start(t)
	proxy := etcdtest.NewProxy(t, c.Endpoints()[0])
	b := hostOn(t, etcdtest.NewClient(t, proxy.Endpoint()), c.Prefix(t), etcd.WithRequestTimeout(300*time.Millisecond))
	if running, err := singleinstance.CheckRunning(testName, singleinstance.WithBackend(b)); err != nil || running {
		t.Fatalf("CheckRunning while connected = %v, %v", running, err)
	}
	proxy.Partition()
	opt := singleinstance.WithBackend(b)
	if running, err := singleinstance.CheckRunning(testName, opt); !errors.Is(err, singleinstance.ErrUnavailable) {
		t.Fatalf("CheckRunning while cut off = %v, %v; want ErrUnavailable", running, err)
	}
	if _, err := singleinstance.Status(testName, opt); !errors.Is(err, singleinstance.ErrUnavailable) {
		t.Fatalf("Status while cut off: %v", err)
	}
	if _, err := singleinstance.New(testName, opt); !errors.Is(err, singleinstance.ErrUnavailable) {
		t.Fatalf("New while cut off: %v", err)
	}
	if _, err := singleinstance.KillRunning(testName, false, opt); !errors.Is(err, singleinstance.ErrUnavailable) {
		t.Fatalf("KillRunning while cut off: %v", err)
	}
}

// TestGuardedWriteRejectsStaleToken: state written with IsOwner in the
// transaction accepts the current holder's token and rejects an earlier
// holder's, even one that does not know it lost the lock.
func TestGuardedWriteRejectsStaleToken(t *testing.T) {
	c := etcdtest.Start(t)
	prefix := c.Prefix(t)
	a, b := host(t, c, prefix), host(t, c, prefix)
	client := c.Client(t)
	write := func(backend *etcd.Backend, token uint64, value string) bool {
		t.Helper()
		resp, err := client.Txn(ctxFor(t, 5*time.Second)).
			If(backend.IsOwner(testName, token)).
			Then(clientv3.OpPut(prefix+"position", value)).
			Commit()
		if err != nil {
			t.Fatalf("guarded write: %v", err)
		}
		return resp.Succeeded
	}

	first := hold(t, a, testName)
	if !write(a, first.Token(), "long 1") {
		t.Fatal("the holder's guarded write was rejected")
	}
	// The first holder is stopped by force and its key deleted; it has not
	// been told yet when the second one writes.
	old := first.Token()
	if _, err := client.Delete(ctxFor(t, 5*time.Second), prefix+"lock/"+testName); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, first.Lost(), 5*time.Second, "Lost after the holder's key was deleted")
	if !errors.Is(first.Err(), singleinstance.ErrLockLost) {
		t.Fatalf("Err = %v", first.Err())
	}
	second := hold(t, b, testName)
	if second.Token() <= old {
		t.Fatalf("token went from %d to %d", old, second.Token())
	}
	if write(a, old, "long 2") {
		t.Fatal("a stale token's guarded write was accepted")
	}
	if !write(b, second.Token(), "flat") {
		t.Fatal("the new holder's guarded write was rejected")
	}
}
