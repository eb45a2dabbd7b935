package etcdtest

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// Members is an etcd cluster of several members embedded in the test
// process. The clients and the members reach each member through proxies
// of its own, so that a test can stop a member abruptly (as if its host
// died), start it again, and cut it off from its peers while its clients
// still reach it. Everything is stopped when the test ends.
type Members struct {
	mu      sync.Mutex
	members []*member
}

// member is one member of Members.
type member struct {
	name   string
	dir    string
	client *Proxy // in front of the member's client socket
	peer   *Proxy // in front of the member's peer socket
	id     string // the member ID, as etcd's raft transport writes it
	e      *embed.Etcd
	peers  []string // initial cluster
}

// memberTickMs and memberElectionMs are the raft timings of Members: fast
// failovers that stay stable on a loaded machine.
const (
	memberTickMs     = 20
	memberElectionMs = 250
)

// StartMembers starts a cluster of n embedded members (n is usually 3)
// and waits until it has a leader, failing t after 30 seconds.
func StartMembers(t testing.TB, n int) *Members {
	t.Helper()
	if n < 1 {
		t.Fatalf("etcdtest: StartMembers(%d)", n)
	}
	root := shortTempDir(t, "etcd")
	c := &Members{}
	// Cleanups run in reverse: the members stop after the clients that
	// the test creates later, and the proxies after the members.
	t.Cleanup(func() {
		for _, m := range c.members {
			if m.client != nil {
				m.client.close()
			}
			if m.peer != nil {
				m.peer.close()
			}
		}
	})
	t.Cleanup(c.stopAll)
	var initial []string
	for i := range n {
		m := &member{name: fmt.Sprintf("m%d", i), dir: filepath.Join(root, fmt.Sprint(i))}
		if err := os.Mkdir(m.dir, 0o700); err != nil {
			t.Fatalf("etcdtest: %v", err)
		}
		var err error
		if m.client, err = newProxy("unix://"+filepath.Join(m.dir, "client.sock"), false); err != nil {
			t.Fatalf("etcdtest: %v", err)
		}
		if m.peer, err = newProxy("unix://"+filepath.Join(m.dir, "peer.sock"), true); err != nil {
			t.Fatalf("etcdtest: %v", err)
		}
		c.members = append(c.members, m)
		initial = append(initial, m.name+"="+m.peer.Endpoint())
	}
	for _, m := range c.members {
		m.peers = initial
		if err := m.start(); err != nil {
			t.Fatalf("etcdtest: %v", err)
		}
	}
	timer := time.NewTimer(readyTimeout)
	defer timer.Stop()
	for _, m := range c.members {
		select {
		case <-m.e.Server.ReadyNotify():
		case err := <-m.e.Err():
			t.Fatalf("etcdtest: member %s failed before becoming ready: %v", m.name, err)
		case <-timer.C:
			t.Fatalf("etcdtest: member %s not ready after %v", m.name, readyTimeout)
		}
		m.id = m.e.Server.MemberID().String()
	}
	c.Leader(t)
	return c
}

// start starts the member's server on its data directory.
func (m *member) start() error {
	cfg, err := m.config()
	if err != nil {
		return err
	}
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return fmt.Errorf("starting embedded etcd member %s: %w", m.name, err)
	}
	m.e = e
	return nil
}

// config is the member's configuration: its client and peer sockets in
// its directory, advertised as its proxies' addresses.
func (m *member) config() (*embed.Config, error) {
	clientURL, err := url.Parse("unix://" + filepath.Join(m.dir, "client.sock"))
	if err != nil {
		return nil, fmt.Errorf("parsing client URL: %w", err)
	}
	advertisedClient, err := url.Parse(m.client.Endpoint())
	if err != nil {
		return nil, fmt.Errorf("parsing client URL: %w", err)
	}
	advertisedPeer, err := url.Parse(m.peer.Endpoint())
	if err != nil {
		return nil, fmt.Errorf("parsing peer URL: %w", err)
	}
	cfg := embed.NewConfig()
	cfg.Name = m.name
	cfg.Dir = filepath.Join(m.dir, "data")
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	cfg.TickMs = memberTickMs
	cfg.ElectionMs = memberElectionMs
	cfg.UnsafeNoFsync = true
	cfg.EnableGRPCGateway = false
	cfg.ListenClientUrls = []url.URL{*clientURL}
	cfg.AdvertiseClientUrls = []url.URL{*advertisedClient}
	// See embeddedConfig for the URL of a UNIX socket peer listener.
	cfg.ListenPeerUrls = []url.URL{{Scheme: "unix", Host: filepath.Join(m.dir, "peer.sock")}}
	cfg.AdvertisePeerUrls = []url.URL{*advertisedPeer}
	cfg.InitialCluster = strings.Join(m.peers, ",")
	cfg.InitialClusterToken = "etcdtest-" + filepath.Base(filepath.Dir(m.dir))
	return cfg, nil
}

// stopAll stops every running member, all at once.
func (c *Members) stopAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	var wg sync.WaitGroup
	for _, m := range c.members {
		if e := m.e; e != nil {
			m.e = nil
			m.client.takeDown()
			m.peer.takeDown()
			wg.Go(func() { crash(e) })
		}
	}
	wg.Wait()
}

// crash stops a member's server without a leadership transfer, then
// closes it.
func crash(e *embed.Etcd) {
	// Raft and its transport stop at once; Close then finds no peer to
	// hand the leadership to, instead of waiting for one.
	e.Server.HardStop()
	e.Close()
}

// Len is the number of members.
func (c *Members) Len() int { return len(c.members) }

// Endpoints returns the client endpoints of all members, for a client
// that fails over between them.
func (c *Members) Endpoints() []string {
	eps := make([]string, len(c.members))
	for i, m := range c.members {
		eps[i] = m.client.Endpoint()
	}
	return eps
}

// Endpoint returns the client endpoint of member i alone.
func (c *Members) Endpoint(i int) string { return c.members[i].client.Endpoint() }

// Cluster returns the cluster as a Cluster reaching all members, for its
// Prefix and Client.
func (c *Members) Cluster() *Cluster { return &Cluster{endpoints: c.Endpoints()} }

// Leader waits until a running member leads the cluster with the support
// of another member, and returns its index; it fails t after 30 seconds.
func (c *Members) Leader(t testing.TB) int {
	t.Helper()
	deadline := time.Now().Add(readyTimeout)
	for time.Now().Before(deadline) {
		if i, ok := c.leader(); ok {
			return i
		}
		time.Sleep(memberTickMs * time.Millisecond) // polling the servers' state
	}
	t.Fatalf("etcdtest: no leader within %v", readyTimeout)
	return -1
}

// leader returns the member that leads and a quorum that agrees.
func (c *Members) leader() (int, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, m := range c.members {
		if m.e == nil || m.e.Server.Lead() != uint64(m.e.Server.MemberID()) {
			continue
		}
		agree := 0
		for _, o := range c.members {
			if o.e != nil && o.e.Server.Lead() == uint64(m.e.Server.MemberID()) {
				agree++
			}
		}
		if agree > len(c.members)/2 {
			return i, true
		}
	}
	return -1, false
}

// IsLeader reports whether member i is running and believes it leads.
func (c *Members) IsLeader(i int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.members[i]
	return m.e != nil && m.e.Server.Lead() == uint64(m.e.Server.MemberID())
}

// Stop stops member i as if its host died: its clients' and peers'
// connections are closed and new ones refused at once, and its server
// stops without handing its leadership over.
func (c *Members) Stop(t testing.TB, i int) {
	t.Helper()
	c.mu.Lock()
	m := c.members[i]
	e := m.e
	m.e = nil
	m.client.takeDown()
	m.peer.takeDown()
	for _, o := range c.members {
		if o != m {
			o.peer.dropFrom(m.id)
		}
	}
	c.mu.Unlock()
	if e != nil {
		crash(e)
	}
}

// Restart starts member i again, on its data, after Stop. It does not
// wait for it to be ready, which needs a quorum: see Leader.
func (c *Members) Restart(t testing.TB, i int) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.members[i]
	if m.e != nil {
		t.Fatalf("etcdtest: member %d is running", i)
	}
	m.client.Heal()
	m.peer.Heal()
	for _, o := range c.members {
		if o != m {
			o.peer.uncutFrom(m.id)
		}
	}
	if err := m.start(); err != nil {
		t.Fatalf("etcdtest: %v", err)
	}
}

// Isolate cuts member i off from its peers, both ways, as a network
// partition would: their connections stay open but no bytes pass. Its
// clients still reach it. Rejoin ends it.
func (c *Members) Isolate(i int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.members[i]
	m.peer.Partition()
	for _, o := range c.members {
		if o != m {
			o.peer.cutFrom(m.id)
		}
	}
}

// Rejoin ends Isolate(i).
func (c *Members) Rejoin(i int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.members[i]
	m.peer.Heal()
	for _, o := range c.members {
		if o != m {
			o.peer.uncutFrom(m.id)
		}
	}
}
