package etcdtest

import (
	"bytes"
	"context"
	"net"
	"strings"
	"sync/atomic"
	"time"
)

// pipeBufferSize is the size of the buffer of each forwarding direction.
const pipeBufferSize = 32 << 10

// sniffLimit and sniffTimeout bound how much of a peer connection's first
// request a peer proxy reads, and for how long, to learn its sender.
const (
	sniffLimit   = 16 << 10
	sniffTimeout = 5 * time.Second
)

// link is one proxied connection: the accepted client side and, unless the
// link was black-holed when accepted, the dialled server side.
type link struct {
	client net.Conn
	server net.Conn // guarded by Proxy.mu; nil until dialled
	from   string   // the sending member's ID, for a peer proxy
	// holed is set when the link is black-holed; it is never cleared, as
	// dropped bytes make the stream unusable.
	holed  atomic.Bool
	closed bool // guarded by Proxy.mu
}

// handle forwards conn to the target, or swallows its bytes when the proxy
// is partitioned. It owns one wg count and adds one for the server-to-client
// direction.
func (p *Proxy) handle(ctx context.Context, conn net.Conn) {
	defer p.wg.Done()
	var head []byte
	from := ""
	if p.peer {
		head, from = sniffSender(conn)
	}
	l, ok := p.track(conn, from)
	if !ok {
		return
	}
	var server net.Conn // stays nil for a link black-holed when accepted
	if !l.holed.Load() {
		var d net.Dialer
		var err error
		server, err = d.DialContext(ctx, p.network, p.address)
		if err == nil && len(head) > 0 {
			_, err = server.Write(head)
		}
		if err != nil {
			if server != nil {
				_ = server.Close()
			}
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
			p.pipeDelayed(ctx, l, conn, server)
		}()
	}
	p.pipe(l, server, conn)
}

// sniffSender reads the head of the first HTTP request on a connection to
// an etcd member's peer listener and returns it with the sender's member
// ID (the X-Server-From header of etcd's raft transport), or "" if the
// request does not say.
func sniffSender(conn net.Conn) ([]byte, string) {
	_ = conn.SetReadDeadline(time.Now().Add(sniffTimeout))
	defer conn.SetReadDeadline(time.Time{})
	var head []byte
	buf := make([]byte, 4096)
	for len(head) < sniffLimit && !bytes.Contains(head, []byte("\r\n\r\n")) {
		n, err := conn.Read(buf)
		head = append(head, buf[:n]...)
		if err != nil {
			break
		}
	}
	end := bytes.Index(head, []byte("\r\n\r\n"))
	if end < 0 {
		return head, ""
	}
	for line := range strings.SplitSeq(string(head[:end]), "\r\n") {
		name, value, ok := strings.Cut(line, ":")
		if ok && strings.EqualFold(strings.TrimSpace(name), "X-Server-From") {
			return head, strings.TrimSpace(value)
		}
	}
	return head, ""
}

// track registers a newly accepted connection, black-holed if the proxy is
// partitioned or cut off from its sender. It reports false, having closed
// conn, if the proxy is closed or down.
func (p *Proxy) track(conn net.Conn, from string) (*link, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || p.down {
		_ = conn.Close()
		return nil, false
	}
	l := &link{client: conn, from: from}
	l.holed.Store(p.partitioned || (from != "" && p.cut[from]))
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

// chunk is a piece of a reply on its way through the delay line.
type chunk struct {
	data []byte
	due  time.Time
}

// pipeDelayed is pipe for the replies (server to client): each chunk is
// written the reply delay after it was read, in order.
func (p *Proxy) pipeDelayed(ctx context.Context, l *link, dst, src net.Conn) {
	line := make(chan chunk, 256)
	written := make(chan struct{})
	go func() {
		defer close(written)
		failed := false
		for c := range line {
			if failed {
				continue // drain, so that the reader never blocks
			}
			if wait := time.Until(c.due); wait > 0 {
				t := time.NewTimer(wait)
				select {
				case <-t.C:
				case <-ctx.Done():
					t.Stop()
					failed = true
					continue
				}
			}
			if l.holed.Load() {
				continue
			}
			if _, err := dst.Write(c.data); err != nil {
				failed = true
				p.closeLink(l) // ends the reader too
			}
		}
	}()
	buf := make([]byte, pipeBufferSize)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			line <- chunk{data: bytes.Clone(buf[:n]), due: time.Now().Add(p.replyDelay())}
		}
		if err != nil {
			break
		}
	}
	close(line)
	<-written
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

// closeLink closes both sides of l.
func (p *Proxy) closeLink(l *link) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.dropLocked(l)
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
