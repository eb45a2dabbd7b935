package etcd

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/singleinstance/singleinstance"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Defaults.
const (
	// DefaultPrefix is the key prefix under which locks are kept.
	DefaultPrefix = "/singleinstance/"
	// DefaultTTL is the lease time to live: how long after its last
	// keep-alive a holder that vanished (crash, partition) keeps the lock.
	DefaultTTL = 10 * time.Second
	// MinTTL is the shortest TTL accepted. Shorter leases expire on a
	// single slow keep-alive.
	MinTTL = 2 * time.Second
	// DefaultRequestTimeout bounds each request to etcd that is not a wait.
	DefaultRequestTimeout = 5 * time.Second
	// DefaultReleaseTimeout bounds a release: the revocation of the
	// lease, which deletes the holder's key.
	DefaultReleaseTimeout = 500 * time.Millisecond
)

// ErrInvalidConfig means an option or a Config field has a value that
// cannot work, such as a TTL below MinTTL.
var ErrInvalidConfig = errors.New("invalid etcd backend configuration")

// A Backend keeps singleinstance locks in etcd. It implements
// singleinstance.Backend; pass it to singleinstance.WithBackend. It is safe
// for concurrent use, and one Backend serves any number of names and
// acquisitions: each acquisition gets its own lease.
type Backend struct {
	client         *clientv3.Client
	ownClient      bool // Close closes client
	prefix         string
	ttl            time.Duration
	margin         time.Duration
	requestTimeout time.Duration
	releaseTimeout time.Duration
	logger         *slog.Logger
	where          string // for messages
	stopHint       string // global flags of the CLI that reach this cluster
	// answered is set once the cluster answered: from then on a waiter
	// waits out an outage instead of failing.
	answered atomic.Bool
}

var _ singleinstance.Backend = (*Backend)(nil)

// An Option configures New and Dial.
type Option func(*Backend)

// WithPrefix sets the key prefix under which locks are kept (default
// DefaultPrefix). Every program that must not run twice has to use the
// same prefix. A missing trailing "/" is added.
func WithPrefix(p string) Option { return func(b *Backend) { b.prefix = p } }

// WithTTL sets the lease time to live (default DefaultTTL), in whole
// seconds (rounded up). New fails for a TTL below MinTTL. A longer TTL
// survives longer etcd hiccups; a shorter one lets a standby take over
// sooner after a holder vanished.
func WithTTL(d time.Duration) Option { return func(b *Backend) { b.ttl = d } }

// WithSafetyMargin sets how long before the earliest moment the server can
// expire a silent holder's lease the holder declares it lost (default:
// a fifth of the TTL). It must cover the difference in clock rates between
// the machines over one TTL and the time the holder needs to stop; it must
// be less than half the TTL.
func WithSafetyMargin(d time.Duration) Option { return func(b *Backend) { b.margin = d } }

// WithRequestTimeout bounds each request that is not a wait (default
// DefaultRequestTimeout). A request that times out yields an error
// matching singleinstance.ErrUnavailable.
func WithRequestTimeout(d time.Duration) Option { return func(b *Backend) { b.requestTimeout = d } }

// WithReleaseTimeout bounds a release (default DefaultReleaseTimeout):
// the revocation of the lease, which deletes the holder's key, and the
// cleanup after an acquisition that failed or was cancelled. A connected
// cluster answers within milliseconds; one that does not answer in time
// is most likely out of reach, and a process that is stopping should not
// wait for it: the key then stays until its lease expires, within the
// TTL, and Release says so.
func WithReleaseTimeout(d time.Duration) Option { return func(b *Backend) { b.releaseTimeout = d } }

// WithLogger sets the logger for warnings (changed TTL, lost lease,
// unreachable cluster while waiting). The default is slog.Default().
func WithLogger(l *slog.Logger) Option { return func(b *Backend) { b.logger = l } }

// WithStopHint sets the global flags that reach this cluster from the
// singleinstance CLI (such as "--etcd host1:2379,host2:2379"), shown in
// the command that a conflict report suggests to stop the holder.
func WithStopHint(flags string) Option { return func(b *Backend) { b.stopHint = flags } }

// New returns a Backend on client, which stays the caller's: TLS, auth and
// endpoints are the caller's choice, and Close does not close it.
func New(client *clientv3.Client, opts ...Option) (*Backend, error) {
	if client == nil {
		return nil, fmt.Errorf("singleinstance/etcd: %w: nil client", ErrInvalidConfig)
	}
	b := &Backend{
		client:         client,
		prefix:         DefaultPrefix,
		ttl:            DefaultTTL,
		requestTimeout: DefaultRequestTimeout,
		releaseTimeout: DefaultReleaseTimeout,
	}
	for _, o := range opts {
		o(b)
	}
	if err := b.finish(); err != nil {
		return nil, err
	}
	return b, nil
}

// finish checks and completes the options.
func (b *Backend) finish() error {
	if b.logger == nil {
		b.logger = slog.Default()
	}
	if b.prefix == "" {
		return fmt.Errorf("singleinstance/etcd: %w: empty key prefix", ErrInvalidConfig)
	}
	if !strings.HasSuffix(b.prefix, "/") {
		b.prefix += "/"
	}
	if b.ttl < MinTTL {
		return fmt.Errorf("singleinstance/etcd: %w: TTL %v is below the minimum %v", ErrInvalidConfig, b.ttl, MinTTL)
	}
	if r := b.ttl % time.Second; r != 0 {
		b.ttl += time.Second - r
	}
	if b.margin == 0 {
		b.margin = b.ttl / 5
	}
	if b.margin < 0 || b.margin >= b.ttl/2 {
		return fmt.Errorf("singleinstance/etcd: %w: safety margin %v must be positive and less than half the TTL %v",
			ErrInvalidConfig, b.margin, b.ttl)
	}
	if b.requestTimeout <= 0 {
		return fmt.Errorf("singleinstance/etcd: %w: request timeout %v must be positive", ErrInvalidConfig, b.requestTimeout)
	}
	if b.releaseTimeout <= 0 {
		return fmt.Errorf("singleinstance/etcd: %w: release timeout %v must be positive", ErrInvalidConfig, b.releaseTimeout)
	}
	b.where = "etcd " + strings.Join(b.client.Endpoints(), ",") + " prefix " + b.prefix
	return nil
}

// Close closes the client if Dial created it; it does not release held
// locks (release them first).
func (b *Backend) Close() error {
	if b.ownClient {
		return b.client.Close()
	}
	return nil
}

// Client returns the etcd client.
func (b *Backend) Client() *clientv3.Client { return b.client }

// TTL returns the lease time to live requested for each acquisition.
func (b *Backend) TTL() time.Duration { return b.ttl }

// SafetyMargin returns how long before the earliest possible server-side
// expiry a holder declares its lease lost.
func (b *Backend) SafetyMargin() time.Duration { return b.margin }

// StopGrace is how long a wrapper may give its command between SIGTERM
// and SIGKILL after Lost fired, so that the command is dead before the
// server can expire the lease: half the safety margin.
func (b *Backend) StopGrace() time.Duration { return b.margin / 2 }

// String says where the locks are kept.
func (b *Backend) String() string { return b.where }

// StopCommand is the CLI command line that stops name's holder.
func (b *Backend) StopCommand(name string) string {
	flags := b.stopHint
	if flags == "" {
		flags = "--etcd " + strings.Join(b.client.Endpoints(), ",")
	}
	if b.prefix != DefaultPrefix && !strings.Contains(flags, "--etcd-prefix") {
		flags += " --etcd-prefix " + b.prefix
	}
	return "singleinstance " + flags + " kill " + name
}

// Key names.
func (b *Backend) lockKey(name string) string  { return b.prefix + "lock/" + name }
func (b *Backend) stopKey(name string) string  { return b.prefix + "stop/" + name }
func (b *Backend) fenceKey(name string) string { return b.prefix + "fence/" + name }

// IsOwner returns the comparison that is true only while the acquisition
// of name with token still holds the lock. Put it in the If of an etcd
// transaction that changes state the holder guards: a holder that lost its
// lock, even one that does not know it yet, then cannot change that state.
//
//	resp, err := client.Txn(ctx).
//		If(backend.IsOwner("trading-bot", inst.Token())).
//		Then(clientv3.OpPut("/bot/position", position)).
//		Commit()
//	if err == nil && !resp.Succeeded {
//		// not the holder any more: stop
//	}
func (b *Backend) IsOwner(name string, token uint64) clientv3.Cmp {
	return clientv3.Compare(clientv3.CreateRevision(b.lockKey(name)), "=", int64(token))
}
