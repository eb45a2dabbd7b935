package etcd

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/singleinstance/singleinstance"
	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// A hold is one held acquisition: the holder's key, attached to its own
// session. It implements singleinstance.Lease.
type hold struct {
	b       *Backend
	name    string
	key     string
	sess    *session
	token   uint64 // the key's create revision
	stopReq chan struct{}
	stopMu  sync.Once

	cancelWatch context.CancelFunc
	watchDone   chan struct{}

	takenOnce sync.Once // reports a key deleted or taken over once

	mu      sync.Mutex
	holder  singleinstance.Holder
	release sync.Once
	relErr  error
}

var (
	_ singleinstance.Lease         = (*hold)(nil)
	_ singleinstance.HolderUpdater = (*hold)(nil)
)

// newHold starts watching the key and the stop key of a fresh acquisition.
func (b *Backend) newHold(name string, sess *session, token uint64, h singleinstance.Holder) *hold {
	hd := &hold{
		b: b, name: name, key: b.lockKey(name), sess: sess, token: token,
		stopReq: make(chan struct{}), watchDone: make(chan struct{}), holder: h,
	}
	hd.holder.Token = token
	ctx, cancel := context.WithCancel(context.Background())
	hd.cancelWatch = cancel
	go hd.watch(ctx)
	return hd
}

// watch follows the holder's key and stop key. The lease is lost when the
// session gives up or the key is deleted or taken over (a forced stop);
// a put of this acquisition's token on the stop key is a stop request.
func (h *hold) watch(ctx context.Context) {
	defer close(h.watchDone)
	defer h.cancelWatch()
	lockCh := h.b.client.Watch(ctx, h.key, clientv3.WithRev(int64(h.token)+1))
	stopCh := h.b.client.Watch(ctx, h.b.stopKey(h.name), clientv3.WithRev(int64(h.token)+1), clientv3.WithFilterDelete())
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.sess.lost:
			return
		case wr, ok := <-lockCh:
			if !ok {
				return
			}
			if err := wr.Err(); err != nil {
				// Compacted past our revision or cancelled: look at the
				// key directly, then watch again from there.
				lockCh = h.rewatch(ctx)
				continue
			}
			for _, ev := range wr.Events {
				h.checkEvent(ev)
			}
		case wr, ok := <-stopCh:
			if !ok {
				return
			}
			if wr.Err() != nil {
				stopCh = h.b.client.Watch(ctx, h.b.stopKey(h.name), clientv3.WithRev(wr.Header.Revision+1), clientv3.WithFilterDelete())
				continue
			}
			for _, ev := range wr.Events {
				if string(ev.Kv.Value) == strconv.FormatUint(h.token, 10) {
					h.stopMu.Do(func() { close(h.stopReq) })
				}
			}
		}
	}
}

// rewatch reads the key after a broken watch and watches it again.
func (h *hold) rewatch(ctx context.Context) clientv3.WatchChan {
	for ctx.Err() == nil {
		rctx, cancel := context.WithTimeout(ctx, h.b.requestTimeout)
		resp, err := h.b.client.Get(rctx, h.key)
		cancel()
		if err == nil {
			if len(resp.Kvs) == 0 {
				h.takeAway(errors.New("its key was deleted"))
			} else {
				h.checkEvent(&clientv3.Event{Type: mvccpb.PUT, Kv: resp.Kvs[0]})
			}
			return h.b.client.Watch(ctx, h.key, clientv3.WithRev(resp.Header.Revision+1))
		}
		select {
		case <-ctx.Done():
		case <-h.sess.lost:
			return nil
		case <-time.After(500 * time.Millisecond):
		}
	}
	return nil
}

// checkEvent looks at one change of the holder's key.
func (h *hold) checkEvent(ev *clientv3.Event) {
	switch {
	case ev.Type == mvccpb.DELETE:
		h.takeAway(errors.New("its key was deleted (a forced stop, or by hand)"))
	case uint64(ev.Kv.CreateRevision) != h.token || clientv3.LeaseID(ev.Kv.Lease) != h.sess.id:
		h.takeAway(errors.New("its key was taken over"))
	}
}

// takeAway ends the hold because someone else changed the key: the
// session is failed, which closes Lost.
func (h *hold) takeAway(cause error) {
	h.takenOnce.Do(func() {
		h.b.logger.Error("singleinstance/etcd: lock lost", "name", h.name, "token", h.token, "cause", cause)
		h.sess.fail(cause)
	})
}

// Token implements singleinstance.Lease.
func (h *hold) Token() uint64 { return h.token }

// Holder implements singleinstance.Lease.
func (h *hold) Holder() singleinstance.Holder {
	h.mu.Lock()
	defer h.mu.Unlock()
	c := h.holder
	c.Argv = append([]string(nil), c.Argv...)
	return c
}

// Lost implements singleinstance.Lease: it is closed at the session's
// deadline, or as soon as the key is known to be gone.
func (h *hold) Lost() <-chan struct{} { return h.sess.lost }

// Err implements singleinstance.Lease.
func (h *hold) Err() error { return h.sess.Err() }

// StopRequested implements singleinstance.Lease.
func (h *hold) StopRequested() <-chan struct{} { return h.stopReq }

// UpdateHolder implements singleinstance.HolderUpdater: it replaces the
// stored description, only while this acquisition holds the key.
func (h *hold) UpdateHolder(ctx context.Context, desc singleinstance.Holder) error {
	if err := h.Err(); err != nil {
		return err
	}
	desc.Token = h.token
	value := encodeRecord(record{Holder: &desc, TTL: int64(h.sess.ttl / time.Second)})
	rctx, cancel := context.WithTimeout(ctx, h.b.requestTimeout)
	defer cancel()
	resp, err := h.b.client.Txn(rctx).
		If(h.b.heldBy(h.name, h.token, h.sess.id)...).
		Then(clientv3.OpPut(h.key, value, clientv3.WithLease(h.sess.id))).
		Commit()
	if err != nil {
		return h.b.unavailable("describe holder of "+h.name, err)
	}
	if !resp.Succeeded {
		h.takeAway(errors.New("its key was deleted or taken over"))
		return h.sess.Err()
	}
	h.mu.Lock()
	h.holder = desc
	h.mu.Unlock()
	return nil
}

// Release implements singleinstance.Lease: it deletes the key if this
// acquisition still holds it, and revokes the lease.
func (h *hold) Release() error {
	h.release.Do(func() { h.relErr = h.doRelease() })
	return h.relErr
}

// lostReleaseTimeout bounds a Release after the lease was lost.
const lostReleaseTimeout = time.Second

func (h *hold) doRelease() error {
	h.cancelWatch()
	<-h.watchDone
	timeout := h.b.requestTimeout
	if h.sess.Err() != nil {
		// Lost: most likely cut off from the cluster. Try briefly; the
		// lease expires by itself anyway.
		timeout = min(timeout, lostReleaseTimeout)
	}
	// One deadline for both requests.
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	derr := h.b.deleteIfHeld(ctx, h.name, h.token, h.sess.id)
	rerr := h.sess.close(ctx)
	if err := errors.Join(derr, rerr); err != nil {
		return fmt.Errorf("%w (the lease expires by itself within %v)", h.b.unavailable("release "+h.name, err), h.sess.ttl)
	}
	return nil
}
