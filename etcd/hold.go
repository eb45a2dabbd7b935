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
// session gives up or the key is deleted or taken over (a forced stop, an
// expired lease); a put of this acquisition's token on the stop key is a
// stop request. The watches require a leader: a member cut off from the
// others ends them instead of staying silent about changes made by the
// majority, and they are then resumed where they left off.
func (h *hold) watch(ctx context.Context) {
	defer close(h.watchDone)
	defer h.cancelWatch()
	wctx := clientv3.WithRequireLeader(ctx)
	stopKey := h.b.stopKey(h.name)
	from := int64(h.token) + 1
	lockCh := h.b.client.Watch(wctx, h.key, clientv3.WithRev(from))
	stopCh := h.b.client.Watch(wctx, stopKey, clientv3.WithRev(from), clientv3.WithFilterDelete())
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.sess.lost:
			return
		case wr, ok := <-lockCh:
			if !ok || wr.Err() != nil {
				h.b.logger.Debug("singleinstance/etcd: the holder's watch broke; reading the key and watching again",
					"name", h.name, "err", watchErr(wr, ok))
				if lockCh = h.rewatch(wctx, h.key, h.checkLock); lockCh == nil {
					return
				}
				continue
			}
			for _, ev := range wr.Events {
				h.checkEvent(ctx, ev)
			}
		case wr, ok := <-stopCh:
			if !ok || wr.Err() != nil {
				h.b.logger.Debug("singleinstance/etcd: the holder's stop watch broke; reading the stop key and watching again",
					"name", h.name, "err", watchErr(wr, ok))
				if stopCh = h.rewatch(wctx, stopKey, h.checkStop, clientv3.WithFilterDelete()); stopCh == nil {
					return
				}
				continue
			}
			for _, ev := range wr.Events {
				h.checkStop(ctx, ev.Kv)
			}
		}
	}
}

// watchErr says why a watch ended.
func watchErr(wr clientv3.WatchResponse, ok bool) error {
	if !ok {
		return errors.New("watch channel closed")
	}
	return wr.Err()
}

// rewatch reads key after a broken watch (compacted past the revision
// watched from, cancelled for want of a leader), passes what it read to
// check (nil if the key is absent), and watches again from the revision
// read: no change is missed in between. It retries until the hold ends,
// and then returns nil.
func (h *hold) rewatch(ctx context.Context, key string, check func(context.Context, *mvccpb.KeyValue), opts ...clientv3.OpOption) clientv3.WatchChan {
	for ctx.Err() == nil {
		rctx, cancel := context.WithTimeout(ctx, h.b.requestTimeout)
		resp, err := h.b.client.Get(rctx, key)
		cancel()
		if err == nil {
			var kv *mvccpb.KeyValue
			if len(resp.Kvs) > 0 {
				kv = resp.Kvs[0]
			}
			check(ctx, kv)
			return h.b.client.Watch(ctx, key, append(opts, clientv3.WithRev(resp.Header.Revision+1))...)
		}
		t := time.NewTimer(retryPause)
		select {
		case <-ctx.Done():
		case <-h.sess.lost:
			t.Stop()
			return nil
		case <-t.C:
		}
		t.Stop()
	}
	return nil
}

// checkLock looks at the holder's key as read (nil: absent).
func (h *hold) checkLock(ctx context.Context, kv *mvccpb.KeyValue) {
	if kv == nil {
		h.takeAway(ctx, "its key was deleted", true)
		return
	}
	h.checkEvent(ctx, &clientv3.Event{Type: mvccpb.PUT, Kv: kv})
}

// checkStop looks at the stop key as read or put (nil: absent): this
// acquisition's token on it is a stop request.
func (h *hold) checkStop(_ context.Context, kv *mvccpb.KeyValue) {
	if kv != nil && string(kv.Value) == strconv.FormatUint(h.token, 10) {
		h.stopMu.Do(func() { close(h.stopReq) })
	}
}

// checkEvent looks at one change of the holder's key.
func (h *hold) checkEvent(ctx context.Context, ev *clientv3.Event) {
	switch {
	case ev.Type == mvccpb.DELETE:
		h.takeAway(ctx, "its key was deleted", true)
	case uint64(ev.Kv.CreateRevision) != h.token || clientv3.LeaseID(ev.Kv.Lease) != h.sess.id:
		h.takeAway(ctx, "its key was taken over by another holder", false)
	}
}

// takeAway ends the hold because its key changed under it: the session is
// failed at once, which closes Lost; then the loss is logged with its
// cause, which for a deleted key is read from the cluster.
func (h *hold) takeAway(ctx context.Context, what string, deleted bool) {
	h.takenOnce.Do(func() {
		h.sess.fail(errors.New(what))
		cause := what
		if deleted {
			cause = h.deletionCause(ctx)
		}
		h.b.logger.Error("singleinstance/etcd: lock lost", "name", h.name, "token", h.token, "cause", cause)
	})
}

// deletionCause finds out why the holder's key was deleted: a forced stop
// leaves a fence naming this token, an expired (or revoked) lease is gone
// from the server, and anything else was a delete by another client.
func (h *hold) deletionCause(ctx context.Context) string {
	// A connected holder, which saw the delete, gets its answers within
	// milliseconds; Release, which ends the watch, need not wait long.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), h.b.releaseTimeout)
	defer cancel()
	resp, err := h.b.client.Txn(ctx).Then(clientv3.OpGet(h.b.fenceKey(h.name))).Commit()
	if err != nil {
		return fmt.Sprintf("its key was deleted (the cause could not be read: %v)", err)
	}
	if kvs := resp.Responses[0].GetResponseRange().Kvs; len(kvs) > 0 {
		if r, err := decodeRecord(kvs[0]); err == nil && r.Holder.Token == h.token {
			return "it was stopped by force (kill --force): its key was deleted and the name fenced"
		}
	}
	ttl, err := h.b.client.TimeToLive(ctx, h.sess.id)
	switch {
	case err != nil:
		return fmt.Sprintf("its key was deleted (the cause could not be read: %v)", err)
	case ttl.TTL < 0:
		return "its lease expired on the server (or was revoked), which deleted its key"
	}
	return "its key was deleted by another client (by hand?) while its lease was alive"
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
		h.takeAway(ctx, "its key was deleted or taken over", true)
		return h.sess.Err()
	}
	h.mu.Lock()
	h.holder = desc
	h.mu.Unlock()
	return nil
}

// Release implements singleinstance.Lease: it revokes the lease, which
// deletes the key if this acquisition still holds it, within the release
// timeout (WithReleaseTimeout). An error matches
// singleinstance.ErrUnavailable and says that the key may stay until the
// lease expires.
func (h *hold) Release() error {
	h.release.Do(func() { h.relErr = h.doRelease() })
	return h.relErr
}

func (h *hold) doRelease() error {
	h.cancelWatch()
	<-h.watchDone
	// Revoking the lease deletes the key with it, in one request, bounded
	// by the release timeout: a cluster that does not answer by then is
	// most likely out of reach, and the key expires with the lease.
	ctx, cancel := context.WithTimeout(context.Background(), h.b.releaseTimeout)
	defer cancel()
	if err := h.sess.close(ctx); err != nil {
		return fmt.Errorf("%w (unless the request reached etcd, the key stays until the lease expires, within %v)",
			h.b.unavailable("release "+h.name, err), h.sess.ttl)
	}
	return nil
}
