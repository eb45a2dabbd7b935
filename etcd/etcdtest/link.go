package etcdtest

import (
	"context"
	"net"
	"sync/atomic"
)

// pipeBufferSize is the size of the buffer of each forwarding direction.
const pipeBufferSize = 32 << 10

// link is one proxied connection: the accepted client side and, unless the
// link was black-holed when accepted, the dialled server side.
type link struct {
	client net.Conn
	server net.Conn // guarded by Proxy.mu; nil until dialled

	// holed is set when the link is black-holed; it is never cleared, as
	// dropped bytes make the stream unusable.
	holed atomic.Bool

	closed bool // guarded by Proxy.mu
}

// handle forwards conn to the target, or swallows its bytes when the proxy
// is partitioned. It owns one wg count and adds one for the server-to-client
// direction.
func (p *Proxy) handle(ctx context.Context, conn net.Conn) {
	defer p.wg.Done()
	l, ok := p.track(conn)
	if !ok {
		return
	}
	var server net.Conn // stays nil for a link black-holed when accepted
	if !l.holed.Load() {
		var d net.Dialer
		var err error
		server, err = d.DialContext(ctx, p.network, p.address)
		if err != nil {
			// The client sees its connection closed, as with a refused
			// connection.
			p.mu.Lock()
			p.dropLocked(l)
			p.mu.Unlock()
			return
		}
		if !p.attach(l, server) {
			return
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.pipe(l, conn, server)
		}()
	}
	p.pipe(l, server, conn)
}

// track registers a newly accepted connection, black-holed if the proxy is
// partitioned. It reports false, having closed conn, if the proxy is closed.
func (p *Proxy) track(conn net.Conn) (*link, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		_ = conn.Close()
		return nil, false
	}
	l := &link{client: conn}
	l.holed.Store(p.partitioned)
	p.links[l] = struct{}{}
	return l, true
}

// attach sets the server side of l. It reports false, having closed server,
// if l was closed meanwhile.
func (p *Proxy) attach(l *link, server net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if l.closed {
		_ = server.Close()
		return false
	}
	l.server = server
	return true
}

// pipe copies src to dst until either fails, dropping the bytes while the
// link is black-holed. dst may be nil only if the link is black-holed.
func (p *Proxy) pipe(l *link, dst, src net.Conn) {
	buf := make([]byte, pipeBufferSize)
	for {
		n, err := src.Read(buf)
		if n > 0 && !l.holed.Load() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	p.release(l)
}

// release closes a link whose forwarding ended, so that the other side
// sees the close too. A black-holed link is left open, as a partition
// hides closes; Heal or the proxy's cleanup closes it.
func (p *Proxy) release(l *link) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !l.holed.Load() {
		p.dropLocked(l)
	}
}

// dropLocked closes both sides of l and forgets it. p.mu must be held.
func (p *Proxy) dropLocked(l *link) {
	if l.closed {
		return
	}
	l.closed = true
	_ = l.client.Close()
	if l.server != nil {
		_ = l.server.Close()
	}
	delete(p.links, l)
}
