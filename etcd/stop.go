package etcd

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/singleinstance/singleinstance"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Stop implements singleinstance.Backend. It puts the holder's token on
// the name's stop key, which the holder watches (its StopRequested
// closes, and Run cancels its context), then waits until the holder's key
// is gone.
//
// With force, a holder still there when the wait ends is fenced: in one
// transaction its key is deleted (so IsOwner fails for its token at once)
// and a fence key is created that keeps everyone else out for one more
// TTL of the holder's lease; then the holder's lease is revoked. A holder
// that is connected sees its key go and its Lost fires at once; one that
// is cut off from the cluster reaches its own deadline before the fence
// expires. Stop then waits for the fence to expire, as long as ctx allows.
func (b *Backend) Stop(ctx context.Context, name string, force bool, wait time.Duration) (bool, error) {
	if err := singleinstance.ValidateName(name); err != nil {
		return false, err
	}
	key, fence := b.lockKey(name), b.fenceKey(name)
	rctx, cancel := context.WithTimeout(ctx, b.requestTimeout)
	resp, err := b.client.Txn(rctx).Then(clientv3.OpGet(key), clientv3.OpGet(fence)).Commit()
	cancel()
	if err != nil {
		return false, b.unavailable("stop "+name, err)
	}
	kvs := resp.Responses[0].GetResponseRange().Kvs
	if len(kvs) == 0 {
		if len(resp.Responses[1].GetResponseRange().Kvs) > 0 {
			// An earlier forced stop is still in force: the holder has
			// lost the lock already. Wait for the fence as long as asked.
			if wait == 0 {
				return true, nil
			}
			wctx, cancel := boundedBy(ctx, wait)
			defer cancel()
			return true, b.waitFenceGone(wctx, name, resp.Header.Revision+1)
		}
		return false, nil
	}
	kv := kvs[0]
	token := uint64(kv.CreateRevision)
	if err := b.requestStop(ctx, name, token, wait); err != nil {
		return false, err
	}
	if wait == 0 {
		return true, nil
	}
	wctx, cancel := boundedBy(ctx, wait)
	defer cancel()
	err = b.waitReleased(wctx, name, token, resp.Header.Revision+1)
	if err == nil {
		return true, nil
	}
	if !force || ctx.Err() != nil {
		return false, fmt.Errorf("singleinstance/etcd: %q was asked to stop but still holds the lock: %w: %w",
			name, singleinstance.ErrStopTimeout, err)
	}
	return b.fence(ctx, name, kv)
}

// boundedBy returns ctx limited to wait if wait is positive; a negative
// wait is bounded by ctx alone.
func boundedBy(ctx context.Context, wait time.Duration) (context.Context, context.CancelFunc) {
	if wait > 0 {
		return context.WithTimeout(ctx, wait)
	}
	return context.WithCancel(ctx)
}

// requestStop puts token on the stop key, with a lease that removes it
// after the wait (or an hour if the wait has no bound).
func (b *Backend) requestStop(ctx context.Context, name string, token uint64, wait time.Duration) error {
	ttl := b.ttl + max(wait, 0)
	if wait < 0 {
		ttl = time.Hour
	}
	rctx, cancel := context.WithTimeout(ctx, b.requestTimeout)
	defer cancel()
	lease, err := b.client.Grant(rctx, int64((ttl+time.Second-1)/time.Second))
	if err != nil {
		return b.unavailable("ask "+name+" to stop", err)
	}
	if _, err := b.client.Put(rctx, b.stopKey(name), strconv.FormatUint(token, 10), clientv3.WithLease(lease.ID)); err != nil {
		return b.unavailable("ask "+name+" to stop", err)
	}
	return nil
}

// waitReleased waits until the acquisition of name with token no longer
// holds its key, watching from revision rev.
func (b *Backend) waitReleased(ctx context.Context, name string, token uint64, rev int64) error {
	key := b.lockKey(name)
	for {
		wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
		ch := b.client.Watch(wctx, key, clientv3.WithRev(rev))
		gone, err := watchUntilGone(ctx, ch, token)
		cancel()
		if gone || err != nil {
			return err
		}
		// The watch broke: read the key, then watch again from there.
		rctx, cancel := context.WithTimeout(ctx, b.requestTimeout)
		resp, gerr := b.client.Get(rctx, key)
		cancel()
		switch {
		case gerr == nil && (len(resp.Kvs) == 0 || uint64(resp.Kvs[0].CreateRevision) != token):
			return nil
		case gerr == nil:
			rev = resp.Header.Revision + 1
		default:
			if err := sleepCtx(ctx, retryPause); err != nil {
				return err
			}
		}
	}
}

// watchUntilGone reads watch events until the key with create revision
// token is deleted or replaced (true), the watch breaks (false, nil) or
// ctx is done.
func watchUntilGone(ctx context.Context, ch clientv3.WatchChan, token uint64) (bool, error) {
	for {
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case wr, ok := <-ch:
			if !ok || wr.Err() != nil {
				return false, nil
			}
			for _, ev := range wr.Events {
				if ev.Type == mvccpb.DELETE || uint64(ev.Kv.CreateRevision) != token {
					return true, nil
				}
			}
		}
	}
}

// fence takes the lock from the holder kv describes by force (see Stop).
func (b *Backend) fence(ctx context.Context, name string, kv *mvccpb.KeyValue) (bool, error) {
	key, fence := b.lockKey(name), b.fenceKey(name)
	holderLease := clientv3.LeaseID(kv.Lease)
	rctx, cancel := context.WithTimeout(ctx, b.requestTimeout)
	defer cancel()
	ttlResp, err := b.client.TimeToLive(rctx, holderLease)
	if err != nil {
		return false, b.unavailable("force stop of "+name, err)
	}
	if ttlResp.TTL < 0 {
		// The lease expired meanwhile: the key is gone with it.
		return true, nil
	}
	// One second more than the holder's lease, for the rounding of TTLs
	// to whole seconds.
	fenceTTL := ttlResp.GrantedTTL + 1
	lease, err := b.client.Grant(rctx, fenceTTL)
	if err != nil {
		return false, b.unavailable("force stop of "+name, err)
	}
	now := time.Now()
	rec := record{TTL: ttlResp.GrantedTTL, FencedAt: now.Truncate(time.Millisecond),
		Until: now.Add(time.Duration(fenceTTL) * time.Second).Truncate(time.Millisecond)}
	if r, err := decodeRecord(kv); err == nil {
		rec.Holder = r.Holder
	} else {
		rec.Holder = &singleinstance.Holder{}
	}
	rec.Holder.Token = uint64(kv.CreateRevision)
	resp, err := b.client.Txn(rctx).
		If(clientv3.Compare(clientv3.CreateRevision(key), "=", kv.CreateRevision)).
		Then(clientv3.OpPut(fence, encodeRecord(rec), clientv3.WithLease(lease.ID)), clientv3.OpDelete(key)).
		Commit()
	if err != nil {
		return false, b.unavailable("force stop of "+name, err)
	}
	if !resp.Succeeded {
		b.client.Revoke(rctx, lease.ID)
		return true, nil // released meanwhile
	}
	b.logger.Warn("singleinstance/etcd: holder fenced after it did not stop",
		"name", name, "token", kv.CreateRevision, "until", rec.Until)
	if _, err := b.client.Revoke(rctx, holderLease); err != nil && !errors.Is(err, rpctypes.ErrLeaseNotFound) {
		b.logger.Warn("singleinstance/etcd: could not revoke the fenced holder's lease; it expires by itself, before the fence does",
			"name", name, "lease", fmt.Sprintf("%x", holderLease), "err", err)
	}
	return true, b.waitFenceGone(ctx, name, resp.Header.Revision+1)
}

// waitFenceGone waits for name's fence key to expire, as long as ctx
// allows; a fence still in place when ctx ends is not an error: it
// expires by itself.
func (b *Backend) waitFenceGone(ctx context.Context, name string, rev int64) error {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := b.client.Watch(wctx, b.fenceKey(name), clientv3.WithRev(rev), clientv3.WithFilterPut())
	for {
		select {
		case <-ctx.Done():
			return nil
		case wr, ok := <-ch:
			if !ok || wr.Err() != nil || len(wr.Events) > 0 {
				return nil
			}
		}
	}
}
