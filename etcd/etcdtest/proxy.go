package etcdtest

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"
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

	// peer is set for a proxy in front of an etcd member's peer listener:
	// it learns each connection's sending member, which cut can black-hole.
	peer bool

	mu          sync.Mutex
	partitioned bool
	down        bool            // connections are closed at once
	cut         map[string]bool // peer proxy: senders whose links are black-holed
	delay       time.Duration   // added to every reply
	closed      bool
	links       map[*link]struct{}
}

// NewProxy starts a proxy to target, an endpoint in the form returned by
// Cluster.Endpoints (or "http://host:port", or "host:port"). TLS endpoints
// are not supported. The proxy listens on 127.0.0.1 on a port chosen by the
// system; connect to it with Endpoint.
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	p, err := newProxy(target, false)
	if err != nil {
		t.Fatalf("etcdtest: %v", err)
	}
	t.Cleanup(p.close)
	return p
}

// newProxy starts a proxy whose lifetime the caller manages.
func newProxy(target string, peer bool) (*Proxy, error) {
	network, address, err := dialAddress(target)
	if err != nil {
		return nil, fmt.Errorf("proxy target: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("proxy listener: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Proxy{
		ln:      ln,
		network: network,
		address: address,
		cancel:  cancel,
		peer:    peer,
		cut:     make(map[string]bool),
		links:   make(map[*link]struct{}),
	}
	p.wg.Add(1)
	go p.accept(ctx)
	return p, nil
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
// cannot resume, so Heal closes them; clients then reconnect. Heal does
// not end a reply delay (see DelayReplies).
func (p *Proxy) Heal() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.partitioned = false
	p.down = false
	clear(p.cut)
	for l := range p.links {
		if l.holed.Load() {
			p.dropLocked(l)
		}
	}
}

// DelayReplies holds every byte that the target sends back for d before
// passing it on, in order, on open and new connections alike: a request
// reaches the server at once, and its reply arrives d later, as over a
// stalled link. Requests whose timeout is shorter than d therefore fail
// on the client although the server carried them out. Zero ends the
// delay (bytes already delayed still arrive when due, in order).
func (p *Proxy) DelayReplies(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.delay = max(d, 0)
}

// replyDelay is the current reply delay.
func (p *Proxy) replyDelay() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.delay
}

// takeDown closes every connection, and every new one at once, as a host
// whose server process died would (until Heal).
func (p *Proxy) takeDown() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for l := range p.links {
		p.dropLocked(l)
	}
}

// uncutFrom ends cutFrom(from).
func (p *Proxy) uncutFrom(from string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.cut, from)
	for l := range p.links {
		if l.from == from && l.holed.Load() {
			p.dropLocked(l)
		}
	}
}

// dropFrom closes, on a peer proxy, the connections from the member with
// ID from, and every new one from it, until uncutFrom.
func (p *Proxy) dropFrom(from string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut[from] = true
	for l := range p.links {
		if l.from == from {
			p.dropLocked(l)
		}
	}
}

// cutFrom black-holes, on a peer proxy, the connections from the member
// with ID from, open and new, until Heal.
func (p *Proxy) cutFrom(from string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut[from] = true
	for l := range p.links {
		if l.from == from {
			l.holed.Store(true)
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
