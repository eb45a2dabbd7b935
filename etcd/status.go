package etcd

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/singleinstance/singleinstance"
	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Status implements singleinstance.Backend. It reads the holder's key and
// fence key at one revision, with a linearizable read: a holder that has
// released is never reported. The description is stored with the key in
// the transaction that took the lock, so it is always the holder's own
// (State.Verified).
func (b *Backend) Status(ctx context.Context, name string) (*singleinstance.State, error) {
	if err := singleinstance.ValidateName(name); err != nil {
		return nil, err
	}
	rctx, cancel := context.WithTimeout(ctx, b.requestTimeout)
	defer cancel()
	resp, err := b.client.Txn(rctx).Then(clientv3.OpGet(b.lockKey(name)), clientv3.OpGet(b.fenceKey(name))).Commit()
	if err != nil {
		return nil, b.unavailable("status of "+name, err)
	}
	return b.stateOf(name, resp.Responses[0].GetResponseRange().Kvs, resp.Responses[1].GetResponseRange().Kvs), nil
}

// List implements singleinstance.Backend: every name with a holder or a
// fence under the prefix.
func (b *Backend) List(ctx context.Context) ([]*singleinstance.State, error) {
	rctx, cancel := context.WithTimeout(ctx, b.requestTimeout)
	defer cancel()
	lockPrefix, fencePrefix := b.lockKey(""), b.fenceKey("")
	resp, err := b.client.Txn(rctx).Then(
		clientv3.OpGet(lockPrefix, clientv3.WithPrefix()),
		clientv3.OpGet(fencePrefix, clientv3.WithPrefix()),
	).Commit()
	if err != nil {
		return nil, b.unavailable("list", err)
	}
	locks := map[string]*mvccpb.KeyValue{}
	fences := map[string]*mvccpb.KeyValue{}
	var names []string
	for _, kv := range resp.Responses[0].GetResponseRange().Kvs {
		n := strings.TrimPrefix(string(kv.Key), lockPrefix)
		locks[n] = kv
		names = append(names, n)
	}
	for _, kv := range resp.Responses[1].GetResponseRange().Kvs {
		n := strings.TrimPrefix(string(kv.Key), fencePrefix)
		fences[n] = kv
		if locks[n] == nil {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	states := make([]*singleinstance.State, 0, len(names))
	for _, n := range names {
		var lk, fk []*mvccpb.KeyValue
		if kv := locks[n]; kv != nil {
			lk = append(lk, kv)
		}
		if kv := fences[n]; kv != nil {
			fk = append(fk, kv)
		}
		states = append(states, b.stateOf(n, lk, fk))
	}
	return states, nil
}

// stateOf describes name from its key and fence key, read at one revision
// (each slice holds the key or is empty).
func (b *Backend) stateOf(name string, lock, fence []*mvccpb.KeyValue) *singleinstance.State {
	st := &singleinstance.State{Name: name, Backend: b.where, Key: b.lockKey(name)}
	switch {
	case len(lock) > 0:
		st.Running = true
		r, err := decodeRecord(lock[0])
		if err != nil {
			st.HolderError = err.Error()
			return st
		}
		r.Holder.Token = uint64(lock[0].CreateRevision)
		st.Holder = r.Holder
		st.Verified = true
	case len(fence) > 0:
		// A forced stop: the holder may not have noticed yet, so the
		// lock is not free.
		st.Running = true
		st.Fenced = true
		st.Key = b.fenceKey(name)
		r, err := decodeRecord(fence[0])
		if err != nil {
			st.HolderError = err.Error()
			return st
		}
		st.Holder = r.Holder
		st.FencedUntil = r.Until
		st.HolderError = fmt.Sprintf("stopped by force at %s; no one can take the lock until %s, when the old holder is certain to have stopped",
			r.FencedAt.Format(time.RFC3339), r.Until.Format(time.RFC3339))
	}
	return st
}
