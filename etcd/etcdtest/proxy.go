package etcdtest

import (
	"context"
	"net"
	"sync"
	"testing"
)

// Proxy forwards TCP connections accepted on a loopback address to an etcd
// endpoint and can simulate a network partition. It is stopped, with all
// its connections and goroutines, when the test ends.
type Proxy struct {
	ln      net.Listener
	network string // network of the target
	address string // address of the target
	cancel  context.CancelFunc
	wg      sync.WaitGroup // accept loop, connection handlers and pipes

	mu          sync.Mutex
	partitioned bool
	closed      bool
	links       map[*link]struct{}
}

// NewProxy starts a proxy to target, an endpoint in the form returned by
// Cluster.Endpoints (or "http://host:port", or "host:port"). TLS endpoints
// are not supported. The proxy listens on 127.0.0.1 on a port chosen by the
// system; connect to it with Endpoint.
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	network, address, err := dialAddress(target)
	if err != nil {
		t.Fatalf("etcdtest: proxy target: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("etcdtest: proxy listener: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Proxy{
		ln:      ln,
		network: network,
		address: address,
		cancel:  cancel,
		links:   make(map[*link]struct{}),
	}
	p.wg.Add(1)
	go p.accept(ctx)
	t.Cleanup(p.close)
	return p
}

// Endpoint returns the endpoint of the proxy in the form clientv3 accepts,
// "http://127.0.0.1:PORT".
func (p *Proxy) Endpoint() string {
	return "http://" + p.ln.Addr().String()
}

// Partition stops all forwarding at once, like a network partition: open
// connections stay open but bytes sent in either direction are read and
// dropped, and connections accepted from now on are black-holed too
// (never connected to the target). No peer sees a reset or an EOF.
func (p *Proxy) Partition() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.partitioned = true
	for l := range p.links {
		l.holed.Store(true)
	}
}

// Heal ends a partition: connections accepted from now on are forwarded
// again. Connections black-holed by the partition have lost bytes and
// cannot resume, so Heal closes them; clients then reconnect.
func (p *Proxy) Heal() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.partitioned = false
	for l := range p.links {
		if l.holed.Load() {
			p.dropLocked(l)
		}
	}
}

// close stops the proxy: it closes the listener and every connection, and
// waits for all the proxy's goroutines to end.
func (p *Proxy) close() {
	p.mu.Lock()
	p.closed = true
	for l := range p.links {
		p.dropLocked(l)
	}
	p.mu.Unlock()
	_ = p.ln.Close()
	p.cancel()
	p.wg.Wait()
}

// accept serves the listener until it is closed.
func (p *Proxy) accept(ctx context.Context) {
	defer p.wg.Done()
	for {
		conn, err := p.ln.Accept()
		if err != nil {
			// net.ErrClosed once the proxy is closed. Any other error also
			// stops accepting, which clients then see as silence.
			return
		}
		p.wg.Add(1)
		go p.handle(ctx, conn)
	}
}
