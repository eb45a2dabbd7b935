package etcd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/singleinstance/singleinstance"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// A session is one etcd lease, kept alive by its own loop, with the
// holder's deadline: the instant until which the lease is known to be
// alive on the server. The deadline is computed from when each confirmed
// keep-alive was sent, not from when its answer arrived, so that the
// session gives up before the server can have expired the lease.
type session struct {
	client *clientv3.Client
	id     clientv3.LeaseID
	ttl    time.Duration // as granted
	margin time.Duration
	logger *slog.Logger

	lost     chan struct{}
	stop     context.CancelFunc
	loopDone chan struct{}

	mu       sync.Mutex
	deadline time.Time // monotonic
	timer    *time.Timer
	lostErr  error
	closed   bool // by close: no more loss to report
}

// grant creates a lease with the backend's TTL and starts keeping it
// alive. A grant answered after the deadline the lease would have had is
// of no use: the lease is revoked and the grant fails as an outage.
func (b *Backend) grant(ctx context.Context) (*session, error) {
	rctx, cancel := context.WithTimeout(ctx, b.requestTimeout)
	defer cancel()
	sent := time.Now()
	resp, err := b.client.Grant(rctx, int64(b.ttl/time.Second))
	if err != nil {
		// If the server granted the lease all the same, the lease has
		// no key and expires unused.
		return nil, b.unavailable("grant lease", err)
	}
	granted := time.Duration(resp.TTL) * time.Second
	s := &session{
		client: b.client,
		id:     resp.ID,
		ttl:    granted,
		margin: b.margin,
		logger: b.logger,
		lost:   make(chan struct{}),
	}
	if err := b.checkGranted(granted); err != nil {
		b.revokeUnused(s)
		return nil, err
	}
	s.deadline = sent.Add(granted - s.margin)
	if took := time.Since(sent); !time.Now().Before(s.deadline) {
		b.revokeUnused(s)
		return nil, fmt.Errorf("singleinstance/etcd: grant lease (%s): %w: the answer took %v, past the lease's deadline (TTL %v minus safety margin %v)",
			b.where, singleinstance.ErrUnavailable, took.Round(time.Millisecond), granted, s.margin)
	}
	// The timer's function locks s.mu: it cannot run before s.timer is
	// set, even if the deadline passes meanwhile.
	s.mu.Lock()
	s.timer = time.AfterFunc(time.Until(s.deadline), s.checkDeadline)
	s.mu.Unlock()
	loopCtx, stop := context.WithCancel(context.Background())
	s.stop = stop
	s.loopDone = make(chan struct{})
	go s.keepAlive(loopCtx)
	return s, nil
}

// revokeUnused revokes the lease of a session that never ran, within the
// release timeout; it expires by itself otherwise.
func (b *Backend) revokeUnused(s *session) {
	ctx, cancel := context.WithTimeout(context.Background(), b.releaseTimeout)
	defer cancel()
	if err := s.revoke(ctx); err != nil {
		b.logger.Debug("singleinstance/etcd: revoke an unused lease; it expires by itself", "lease", fmt.Sprintf("%x", s.id), "err", err)
	}
}

// checkGranted warns if the server granted another TTL than requested,
// and fails if the granted TTL is too short for the safety margin.
func (b *Backend) checkGranted(granted time.Duration) error {
	if granted != b.ttl {
		b.logger.Warn("singleinstance/etcd: the server granted a different lease TTL than requested",
			"requested", b.ttl, "granted", granted)
	}
	if granted < MinTTL || granted <= 2*b.margin {
		return fmt.Errorf("singleinstance/etcd: %w: the server granted a TTL of %v, too short for a safety margin of %v",
			ErrInvalidConfig, granted, b.margin)
	}
	return nil
}

// keepAlive renews the lease every third of its TTL, and every half
// second after a failed attempt, until the session is closed or lost.
func (s *session) keepAlive(ctx context.Context) {
	defer close(s.loopDone)
	interval := s.ttl / 3
	retry := min(500*time.Millisecond, interval)
	next := time.NewTimer(interval)
	defer next.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.lost:
			return
		case <-next.C:
		}
		ok := s.renew(ctx)
		if ok {
			next.Reset(interval)
		} else {
			next.Reset(retry)
		}
	}
}

// renew sends one keep-alive and moves the deadline on success.
func (s *session) renew(ctx context.Context) bool {
	s.mu.Lock()
	deadline := s.deadline
	s.mu.Unlock()
	rctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	sent := time.Now()
	resp, err := s.client.KeepAliveOnce(rctx, s.id)
	switch {
	case err == nil:
		s.extend(sent.Add(time.Duration(resp.TTL)*time.Second - s.margin))
		return true
	case errors.Is(err, rpctypes.ErrLeaseNotFound):
		s.fail(errors.New("the lease expired or was revoked on the server"))
	case ctx.Err() == nil:
		s.logger.Debug("singleinstance/etcd: keep-alive failed; retrying until the deadline",
			"lease", fmt.Sprintf("%x", s.id), "deadline", time.Until(deadline).Round(time.Millisecond), "err", err)
	}
	return false
}

// extend moves the deadline to d if that is later.
func (s *session) extend(d time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lostErr != nil || !d.After(s.deadline) {
		return
	}
	s.deadline = d
	s.timer.Reset(time.Until(d))
}

// checkDeadline runs when the deadline timer fires.
func (s *session) checkDeadline() {
	s.mu.Lock()
	passed := !time.Now().Before(s.deadline)
	s.mu.Unlock()
	if passed {
		s.fail(fmt.Errorf("no keep-alive was confirmed within %v (TTL %v minus safety margin %v)",
			s.ttl-s.margin, s.ttl, s.margin))
	}
}

// fail marks the session lost, once.
func (s *session) fail(cause error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lostErr != nil || s.closed {
		return
	}
	s.lostErr = fmt.Errorf("singleinstance/etcd: %w: %w", singleinstance.ErrLockLost, cause)
	s.timer.Stop()
	close(s.lost)
}

// Err is nil while the lease is known to be alive: before the deadline and
// not lost.
func (s *session) Err() error {
	s.mu.Lock()
	err, passed := s.lostErr, !time.Now().Before(s.deadline)
	closed := s.closed
	s.mu.Unlock()
	if err == nil && passed && !closed {
		s.checkDeadline()
		return s.Err()
	}
	return err
}

// close stops keeping the lease alive and revokes it, while ctx allows.
func (s *session) close(ctx context.Context) error {
	s.stop()
	<-s.loopDone
	s.mu.Lock()
	s.closed = true
	s.timer.Stop()
	s.mu.Unlock()
	return s.revoke(ctx)
}

// revoke revokes the lease, which deletes the keys attached to it.
func (s *session) revoke(ctx context.Context) error {
	_, err := s.client.Revoke(ctx, s.id)
	if errors.Is(err, rpctypes.ErrLeaseNotFound) {
		return nil
	}
	return err
}
