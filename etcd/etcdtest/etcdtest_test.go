package etcdtest_test

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/goleak"

	"github.com/singleinstance/singleinstance/etcd/etcdtest"
)

// partitionTimeout is how long a request waits before a partition is
// considered to swallow it.
const partitionTimeout = 300 * time.Millisecond

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

func put(t *testing.T, cli *clientv3.Client, key, val string) {
	t.Helper()
	if _, err := cli.Put(ctxTimeout(t, 5*time.Second), key, val); err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
}

func get(t *testing.T, cli *clientv3.Client, key string) (string, bool) {
	t.Helper()
	resp, err := cli.Get(ctxTimeout(t, 5*time.Second), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	if len(resp.Kvs) == 0 {
		return "", false
	}
	return string(resp.Kvs[0].Value), true
}

// requireSilence checks that a Get through cli times out instead of
// failing fast, as it would with a closed or reset connection.
func requireSilence(t *testing.T, cli *clientv3.Client, key string) {
	t.Helper()
	_, err := cli.Get(ctxTimeout(t, partitionTimeout), key)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Get(%q) during partition: err = %v, want context.DeadlineExceeded", key, err)
	}
}

func TestCluster(t *testing.T) {
	c := etcdtest.Start(t)
	eps := c.Endpoints()
	if len(eps) == 0 {
		t.Fatal("Endpoints() is empty")
	}
	if os.Getenv(etcdtest.EndpointsEnv) == "" && !strings.HasPrefix(eps[0], "unix:///") {
		t.Errorf("embedded endpoint = %q, want unix:///...", eps[0])
	}

	t.Run("RoundTrip", func(t *testing.T) {
		cli := c.Client(t)
		key := c.Prefix(t) + "k"
		put(t, cli, key, "v")
		if got, ok := get(t, cli, key); !ok || got != "v" {
			t.Fatalf("Get(%q) = %q, %v; want \"v\", true", key, got, ok)
		}
		// Closing the client here as well as in cleanup is harmless.
		if err := cli.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	})

	t.Run("Prefix", func(t *testing.T) {
		var prefix string
		t.Run("Use", func(t *testing.T) {
			prefix = c.Prefix(t)
			if other := c.Prefix(t); other == prefix {
				t.Fatalf("Prefix returned %q twice", prefix)
			}
			if !strings.HasPrefix(prefix, etcdtest.PrefixRoot) || !strings.HasSuffix(prefix, "/") {
				t.Fatalf("Prefix() = %q, want %s.../", prefix, etcdtest.PrefixRoot)
			}
			cli := c.Client(t)
			put(t, cli, prefix+"a", "1")
			put(t, cli, prefix+"b/c", "2")
		})
		// The subtest's cleanup has deleted its keys.
		resp, err := c.Client(t).Get(ctxTimeout(t, 5*time.Second), prefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
		if err != nil {
			t.Fatalf("Get(%q): %v", prefix, err)
		}
		if resp.Count != 0 {
			t.Fatalf("%d keys left under %q after cleanup", resp.Count, prefix)
		}
	})

	t.Run("Proxy", func(t *testing.T) {
		key := c.Prefix(t) + "k"
		put(t, c.Client(t), key, "v")

		p := etcdtest.NewProxy(t, eps[0])
		cli := etcdtest.NewClient(t, p.Endpoint())
		if got, ok := get(t, cli, key); !ok || got != "v" {
			t.Fatalf("Get(%q) through proxy = %q, %v; want \"v\", true", key, got, ok)
		}

		p.Partition()
		requireSilence(t, cli, key)
		// New connections are black-holed too.
		requireSilence(t, etcdtest.NewClient(t, p.Endpoint()), key)

		p.Heal()
		if got, ok := get(t, etcdtest.NewClient(t, p.Endpoint()), key); !ok || got != "v" {
			t.Fatalf("Get(%q) through healed proxy = %q, %v; want \"v\", true", key, got, ok)
		}
		// The old client reconnects after its black-holed connection is
		// closed.
		if got, ok := get(t, cli, key); !ok || got != "v" {
			t.Fatalf("Get(%q) with old client after heal = %q, %v; want \"v\", true", key, got, ok)
		}
	})
}

// TestProxyRaw checks the proxy byte by byte against an echo server, and
// that it leaves no goroutine behind.
func TestProxyRaw(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) }) // runs last

	target := startEcho(t)
	p := etcdtest.NewProxy(t, "http://"+target)
	addr := strings.TrimPrefix(p.Endpoint(), "http://")

	conn := dial(t, addr)
	echo(t, conn, "hello")

	p.Partition()
	if _, err := conn.Write([]byte("lost")); err != nil {
		t.Fatalf("Write during partition: %v", err)
	}
	requireNoRead(t, conn)
	blackHoled := dial(t, addr)
	if _, err := blackHoled.Write([]byte("lost too")); err != nil {
		t.Fatalf("Write on new connection during partition: %v", err)
	}
	requireNoRead(t, blackHoled)

	p.Heal()
	// Black-holed connections are closed by Heal.
	if err := conn.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("Read on black-holed connection after Heal: err = %v, want EOF", err)
	}
	echo(t, dial(t, addr), "again")
}

// startEcho serves an echo server on loopback until the test ends. Its
// connections end when their peer (the proxy) closes them.
func startEcho(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			})
		}
	})
	return ln.Addr().String()
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func echo(t *testing.T, conn net.Conn, msg string) {
	t.Helper()
	if err := conn.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write([]byte(msg)); err != nil {
		t.Fatalf("Write: %v", err)
	}
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(conn, buf); err != nil {
		t.Fatalf("Read echo: %v", err)
	}
	if string(buf) != msg {
		t.Fatalf("echo = %q, want %q", buf, msg)
	}
}

func requireNoRead(t *testing.T, conn net.Conn) {
	t.Helper()
	if err := conn.SetReadDeadline(time.Now().Add(partitionTimeout)); err != nil {
		t.Fatal(err)
	}
	n, err := conn.Read(make([]byte, 64))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read during partition = %d, %v; want timeout", n, err)
	}
}

// TestMembers: a three-member cluster survives the loss of its leader,
// refuses writes without a quorum and takes them again once a member is
// back, and an isolated member's clients get no answer while the others'
// do.
func TestMembers(t *testing.T) {
	start := time.Now()
	c := etcdtest.StartMembers(t, 3)
	t.Logf("3 members ready in %v", time.Since(start).Round(time.Millisecond))
	cli := c.Cluster().Client(t)
	key := c.Cluster().Prefix(t) + "k"
	put(t, cli, key, "1")

	leader := c.Leader(t)
	stopped := time.Now()
	c.Stop(t, leader)
	next := c.Leader(t)
	t.Logf("member %d stopped; member %d leads after %v", leader, next, time.Since(stopped).Round(time.Millisecond))
	if next == leader {
		t.Fatal("the stopped member still leads")
	}
	put(t, cli, key, "2")

	// Without a quorum, writes fail; with it back, they succeed.
	other := 3 - leader - next
	c.Stop(t, other)
	if _, err := cli.Put(ctxTimeout(t, 500*time.Millisecond), key, "3"); err == nil {
		t.Fatal("a write succeeded with one member of three")
	}
	c.Restart(t, leader)
	c.Restart(t, other)
	c.Leader(t)
	put(t, cli, key, "4")

	// An isolated member answers no linearizable request; the others do.
	lone := c.Leader(t)
	c.Isolate(lone)
	loneCli := etcdtest.NewClient(t, c.Endpoint(lone))
	if _, err := loneCli.Get(ctxTimeout(t, time.Second), key); err == nil {
		t.Fatal("an isolated member answered a linearizable read")
	}
	if got, ok := get(t, etcdtest.NewClient(t, c.Endpoint((lone+1)%3)), key); !ok || got != "4" {
		t.Fatalf("majority read = %q, %v", got, ok)
	}
	c.Rejoin(lone)
	if got, ok := get(t, loneCli, key); !ok || got != "4" {
		t.Fatalf("read after rejoin = %q, %v", got, ok)
	}
}

// TestDelayReplies: a request through a proxy that delays replies reaches
// the server at once, but its answer arrives only after the delay, so
// that a client's shorter timeout fails a request that took effect.
func TestDelayReplies(t *testing.T) {
	c := etcdtest.Start(t)
	p := etcdtest.NewProxy(t, c.Endpoints()[0])
	slow := etcdtest.NewClient(t, p.Endpoint())
	key := c.Prefix(t) + "k"
	put(t, slow, key, "warm")
	p.DelayReplies(time.Second)
	if _, err := slow.Put(ctxTimeout(t, 300*time.Millisecond), key, "late"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Put with a delayed reply: %v, want DeadlineExceeded", err)
	}
	if got, _ := get(t, c.Client(t), key); got != "late" {
		t.Fatalf("the server has %q, want the timed-out write", got)
	}
	p.DelayReplies(0)
	if got, _ := get(t, slow, key); got != "late" {
		t.Fatalf("read after the delay = %q", got)
	}
}
