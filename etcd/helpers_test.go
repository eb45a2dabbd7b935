package etcd_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/singleinstance/singleinstance"
	"github.com/singleinstance/singleinstance/etcd"
	"github.com/singleinstance/singleinstance/etcd/etcdtest"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// testTTL is the lease TTL of most tests: the shortest allowed, so that
// expiries happen quickly.
const testTTL = 2 * time.Second

// testName is the lock name of most tests.
const testName = "trading-bot"

// host is one simulated machine: its own client and Backend on a shared
// cluster, under the test's prefix.
func host(t testing.TB, c *etcdtest.Cluster, prefix string, opts ...etcd.Option) *etcd.Backend {
	t.Helper()
	return hostOn(t, c.Client(t), prefix, opts...)
}

// hostOn is host with a given client.
func hostOn(t testing.TB, client *clientv3.Client, prefix string, opts ...etcd.Option) *etcd.Backend {
	t.Helper()
	opts = append([]etcd.Option{etcd.WithPrefix(prefix), etcd.WithTTL(testTTL)}, opts...)
	b, err := etcd.New(client, opts...)
	if err != nil {
		t.Fatalf("etcd.New: %v", err)
	}
	return b
}

// hold takes the lock on b or fails the test; the lock is released when
// the test ends.
func hold(t testing.TB, b *etcd.Backend, name string, opts ...singleinstance.Option) *singleinstance.Instance {
	t.Helper()
	inst, err := singleinstance.New(name, append([]singleinstance.Option{singleinstance.WithBackend(b)}, opts...)...)
	if err != nil {
		t.Fatalf("New(%q) over etcd: %v", name, err)
	}
	t.Cleanup(func() { inst.Release() })
	return inst
}

// ctxFor returns a context that ends after d or with the test.
func ctxFor(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// isClosed reports whether ch is closed.
func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// waitClosed fails the test unless ch closes within d.
func waitClosed(t testing.TB, ch <-chan struct{}, d time.Duration, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(d):
		t.Fatalf("%s: not within %v", what, d)
	}
}

// wantConflict fails the test unless err is an *AlreadyRunningError whose
// holder has the given token.
func wantConflict(t testing.TB, err error, token uint64) *singleinstance.AlreadyRunningError {
	t.Helper()
	var conflict *singleinstance.AlreadyRunningError
	if !errors.As(err, &conflict) || !errors.Is(err, singleinstance.ErrAlreadyRunning) {
		t.Fatalf("err = %v, want *AlreadyRunningError", err)
	}
	if conflict.Holder == nil || conflict.Holder.Token != token {
		t.Fatalf("conflict holder = %+v, want token %d", conflict.Holder, token)
	}
	return conflict
}

// acquired is how a standby's wait for the lock ended, and when.
type acquired struct {
	inst *singleinstance.Instance
	err  error
	at   time.Time
}

// standBy waits for the lock name on b without limit (but for ctx), in a
// goroutine; the channel receives the outcome.
func standBy(ctx context.Context, b *etcd.Backend, name string) <-chan acquired {
	got := make(chan acquired, 1)
	go func() {
		inst, err := singleinstance.NewContext(ctx, name, singleinstance.WithBackend(b), singleinstance.WithTimeout(-1))
		got <- acquired{inst, err, time.Now()}
	}()
	return got
}

// logRecorder is a slog.Handler that keeps every record's message and
// attributes, so that a test can wait for one.
type logRecorder struct {
	mu      sync.Mutex
	records []string // message and attributes, as "msg key=value ..."
	added   chan struct{}
}

func newLogRecorder() *logRecorder { return &logRecorder{added: make(chan struct{}, 1)} }

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	line := r.Message
	r.Attrs(func(a slog.Attr) bool {
		line += " " + a.String()
		return true
	})
	l.mu.Lock()
	l.records = append(l.records, line)
	l.mu.Unlock()
	select {
	case l.added <- struct{}{}:
	default:
	}
	return nil
}
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logRecorder) WithGroup(string) slog.Handler      { return l }

// find returns the first record that contains every one of parts.
func (l *logRecorder) find(parts ...string) (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range l.records {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(r, p)
		}
		if all {
			return r, true
		}
	}
	return "", false
}

// wait returns the first record that contains every one of parts,
// failing the test if none is logged within d.
func (l *logRecorder) wait(t testing.TB, d time.Duration, parts ...string) string {
	t.Helper()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		if r, ok := l.find(parts...); ok {
			return r
		}
		select {
		case <-l.added:
		case <-deadline.C:
			l.mu.Lock()
			defer l.mu.Unlock()
			t.Fatalf("no log record with %q within %v; records:\n%s", parts, d, strings.Join(l.records, "\n"))
		}
	}
}

// slogOf is a logger on h.
func slogOf(h slog.Handler) *slog.Logger { return slog.New(h) }

// contains is strings.Contains.
func contains(s, sub string) bool { return strings.Contains(s, sub) }

// soakEnv, set to 1 (as CI's soak step does), runs the trials of the
// failure tests many times over instead of once.
const soakEnv = "SINGLEINSTANCE_SOAK"

// trials is fast, or soak when soakEnv is set.
func trials(fast, soak int) int {
	if os.Getenv(soakEnv) == "1" {
		return soak
	}
	return fast
}

// forTrials runs trial once, or as n subtests in a soak.
func forTrials(t *testing.T, fast, soak int, trial func(t *testing.T)) {
	n := trials(fast, soak)
	if n == 1 {
		trial(t)
		return
	}
	for i := range n {
		if !t.Run(fmt.Sprintf("trial%d", i+1), trial) {
			return
		}
	}
}
