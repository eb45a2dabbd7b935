package etcd

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/singleinstance/singleinstance"
	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// TryAcquire implements singleinstance.Backend: it takes the lock called
// name if no one holds it, in one transaction that also stores self.
func (b *Backend) TryAcquire(ctx context.Context, name string, self *singleinstance.Holder) (singleinstance.Lease, error) {
	return b.acquire(ctx, name, self, false)
}

// Acquire implements singleinstance.Backend: it takes the lock called
// name, waiting for its holder to go. A release wakes it through a watch,
// within milliseconds; a holder that vanished is gone when its lease
// expires, within the TTL. While it waits its own lease is kept alive, and
// a cluster that stops answering is retried until ctx is done.
func (b *Backend) Acquire(ctx context.Context, name string, self *singleinstance.Holder) (singleinstance.Lease, error) {
	return b.acquire(ctx, name, self, true)
}

// retryPause is how long a waiter pauses after the cluster failed to
// answer before it asks again.
const retryPause = 500 * time.Millisecond

func (b *Backend) acquire(ctx context.Context, name string, self *singleinstance.Holder, wait bool) (singleinstance.Lease, error) {
	if err := singleinstance.ValidateName(name); err != nil {
		return nil, err
	}
	if self == nil {
		self = &singleinstance.Holder{}
	}
	start := time.Now()
	var (
		sess     *session
		conflict *singleinstance.AlreadyRunningError // the last one seen
		// Leases of this acquisition given up on, whose revocation may
		// not have reached the server: a key on one of them is ours too.
		abandoned = map[clientv3.LeaseID]bool{}
	)
	defer func() {
		if sess != nil {
			if err := b.closeSession(sess); err != nil {
				// Most likely cut off: say what is left behind.
				b.logger.Warn("singleinstance/etcd: could not revoke the lease of an acquisition that ended; "+
					"if an attempt whose answer was lost took the lock, it stays taken until the lease expires",
					"name", name, "lease", fmt.Sprintf("%x", sess.id), "ttl", sess.ttl, "err", err)
			}
		}
	}()
	// ended returns the error for a wait that ctx ended.
	ended := func(err error) error {
		if conflict == nil {
			return err
		}
		conflict.Cause = ctx.Err()
		conflict.Waited = time.Since(start)
		return conflict
	}
	// failed decides what a failed request means: the end of a wait that
	// ctx ended, an outage that a waiter waits out (again) once the
	// cluster answered this Backend, or the error to return.
	failed := func(err error) (again bool, out error) {
		if ctx.Err() != nil {
			return false, ended(err)
		}
		if !wait || !b.answered.Load() || !errors.Is(err, singleinstance.ErrUnavailable) {
			return false, err
		}
		b.logger.Warn("singleinstance/etcd: cluster not answering; still waiting for the lock", "name", name, "err", err)
		return sleepCtx(ctx, retryPause) == nil, err
	}
	for {
		if ctx.Err() != nil {
			return nil, ended(ctx.Err())
		}
		if sess != nil && sess.Err() != nil {
			abandoned[sess.id] = true
			b.closeSession(sess)
			sess = nil
		}
		if sess == nil {
			s, err := b.grant(ctx)
			if err != nil {
				if again, err := failed(err); !again {
					return nil, err
				}
				continue
			}
			sess = s
		}
		h := *self
		h.Token = 0
		h.AcquiredAt = time.Now().Truncate(time.Millisecond)
		resp, err := b.tryOnce(ctx, name, sess, &h)
		if err != nil {
			// The transaction may have taken the key although its answer
			// was lost: the next attempt finds the key on this session's
			// lease and claims it, and closing the session deletes it.
			if again, err := failed(err); !again {
				return nil, err
			}
			continue
		}
		b.answered.Store(true)
		var token uint64
		if resp.Succeeded {
			token = uint64(resp.Header.Revision)
		} else if kv := heldKey(resp); kv != nil {
			switch lease := clientv3.LeaseID(kv.Lease); {
			case lease == sess.id:
				// An earlier attempt took the key, but its answer was
				// lost (it came after the request timeout): it is ours.
				token = uint64(kv.CreateRevision)
				if r, err := decodeRecord(kv); err == nil {
					h = *r.Holder
				}
				b.logger.Debug("singleinstance/etcd: an earlier attempt took the lock; its answer was lost", "name", name, "token", token)
			case abandoned[lease]:
				// Taken on a lease this acquisition gave up, whose
				// revocation did not get through: delete, try again.
				b.logger.Debug("singleinstance/etcd: deleting the key an abandoned attempt took", "name", name, "lease", fmt.Sprintf("%x", lease))
				dctx, cancel := context.WithTimeout(ctx, b.requestTimeout)
				err := b.deleteIfHeld(dctx, name, uint64(kv.CreateRevision), lease)
				cancel()
				if err != nil {
					if again, err := failed(b.unavailable("acquire "+name, err)); !again {
						return nil, err
					}
				}
				continue
			}
		}
		if token != 0 {
			if err := sess.Err(); err != nil {
				// The lease may have expired while the answer was on its
				// way: give the key back (closing the session revokes the
				// lease if this does not get through), and do not claim it.
				dctx, cancel := context.WithTimeout(context.Background(), b.releaseTimeout)
				b.deleteIfHeld(dctx, name, token, sess.id)
				cancel()
				if !wait {
					return nil, fmt.Errorf("singleinstance/etcd: acquire %s (%s): %w: the answer came after the new lease's deadline",
						name, b.where, singleinstance.ErrUnavailable)
				}
				continue
			}
			hd := b.newHold(name, sess, token, h)
			sess = nil
			return hd, nil
		}
		var watchKey string
		conflict, watchKey = b.conflict(name, resp)
		if !wait {
			return nil, conflict
		}
		if err := b.waitGone(ctx, watchKey, resp.Header.Revision+1, sess); err != nil {
			return nil, ended(err)
		}
	}
}

// heldKey is the holder's key that a failed acquiring transaction read,
// or nil.
func heldKey(resp *clientv3.TxnResponse) *mvccpb.KeyValue {
	if kvs := resp.Responses[0].GetResponseRange().Kvs; len(kvs) > 0 {
		return kvs[0]
	}
	return nil
}

// closeSession closes a session that holds nothing, within the release
// timeout: revoking its lease deletes any key that an attempt whose
// answer was lost took.
func (b *Backend) closeSession(sess *session) error {
	ctx, cancel := context.WithTimeout(context.Background(), b.releaseTimeout)
	defer cancel()
	err := sess.close(ctx)
	if err != nil {
		b.logger.Debug("singleinstance/etcd: revoke an unused lease; it expires by itself", "lease", fmt.Sprintf("%x", sess.id), "err", err)
	}
	return err
}

// tryOnce is the acquiring transaction: the holder's key is created with
// the session's lease and the holder's description if neither it nor a
// fence exists; otherwise both are read.
func (b *Backend) tryOnce(ctx context.Context, name string, sess *session, h *singleinstance.Holder) (*clientv3.TxnResponse, error) {
	key, fence := b.lockKey(name), b.fenceKey(name)
	value := encodeRecord(record{Holder: h, TTL: int64(sess.ttl / time.Second)})
	rctx, cancel := context.WithTimeout(ctx, b.requestTimeout)
	defer cancel()
	resp, err := b.client.Txn(rctx).
		If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0),
			clientv3.Compare(clientv3.CreateRevision(fence), "=", 0)).
		Then(clientv3.OpPut(key, value, clientv3.WithLease(sess.id))).
		Else(clientv3.OpGet(key), clientv3.OpGet(fence)).
		Commit()
	if err != nil {
		return nil, b.unavailable("acquire "+name, err)
	}
	return resp, nil
}

// conflict describes the holder (or the fence) that a failed acquiring
// transaction read, and returns the key to wait on.
func (b *Backend) conflict(name string, resp *clientv3.TxnResponse) (*singleinstance.AlreadyRunningError, string) {
	st := b.stateOf(name, resp.Responses[0].GetResponseRange().Kvs, resp.Responses[1].GetResponseRange().Kvs)
	e := &singleinstance.AlreadyRunningError{
		Name:        name,
		LockPath:    "etcd:" + st.Key,
		Holder:      st.Holder,
		StopCommand: b.StopCommand(name),
	}
	if st.HolderError != "" {
		e.HolderErr = errors.New(st.HolderError)
	}
	if st.Fenced {
		return e, b.fenceKey(name)
	}
	return e, b.lockKey(name)
}

// waitGone waits until key is deleted at or after revision rev, the
// session is lost (to be replaced), or a while has passed (a safety net
// for a watch that broke without telling). It returns an error only when
// ctx is done.
func (b *Backend) waitGone(ctx context.Context, key string, rev int64, sess *session) error {
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	ch := b.client.Watch(wctx, key, clientv3.WithRev(rev), clientv3.WithFilterPut(), clientv3.WithCreatedNotify())
	recheck := time.NewTimer(b.ttl)
	defer recheck.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-sess.lost:
			return nil
		case <-recheck.C:
			return nil
		case wr, ok := <-ch:
			if ok && wr.Created && wr.Err() == nil {
				b.logger.Debug("singleinstance/etcd: waiting for the lock", "key", key)
				continue
			}
			if !ok || wr.Err() != nil || len(wr.Events) > 0 {
				if !ok || wr.Err() != nil {
					// Try again after a pause, so that a cluster
					// without a leader is not asked in a busy loop.
					if err := sleepCtx(ctx, retryPause); err != nil {
						return err
					}
				}
				return nil
			}
		}
	}
}

// heldBy is the comparison that holds while the acquisition of name with
// token, on lease id, still holds its key (a fence replaces the lease).
func (b *Backend) heldBy(name string, token uint64, id clientv3.LeaseID) []clientv3.Cmp {
	key := b.lockKey(name)
	return []clientv3.Cmp{
		clientv3.Compare(clientv3.CreateRevision(key), "=", int64(token)),
		clientv3.Compare(clientv3.LeaseValue(key), "=", id),
	}
}

// deleteIfHeld deletes name's key if the acquisition with token on lease
// id still holds it.
func (b *Backend) deleteIfHeld(ctx context.Context, name string, token uint64, id clientv3.LeaseID) error {
	_, err := b.client.Txn(ctx).If(b.heldBy(name, token, id)...).Then(clientv3.OpDelete(b.lockKey(name))).Commit()
	return err
}

// sleepCtx waits for d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
