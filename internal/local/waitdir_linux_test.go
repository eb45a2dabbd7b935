package local

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// announcer is a log handler that closes waiting when the library says it
// waits for the running instance.
type announcer struct {
	once    sync.Once
	waiting chan struct{}
}

func (a *announcer) Enabled(context.Context, slog.Level) bool { return true }
func (a *announcer) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "waiting for the running instance") {
		a.once.Do(func() { close(a.waiting) })
	}
	return nil
}
func (a *announcer) WithAttrs([]slog.Attr) slog.Handler { return a }
func (a *announcer) WithGroup(string) slog.Handler      { return a }

// TestWaiterSurvivesLockDirRemoved removes the whole lock directory, again
// and again, while a waiter waits for the holder: the waiter must keep
// waiting (making the directory again as needed), not fail, and take the
// name once the holder lets go.
func TestWaiterSurvivesLockDirRemoved(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "locks")
	holder, err := acquireWith(Config{Dir: dir, CheckInterval: time.Hour}, "app")
	if err != nil {
		t.Fatal(err)
	}
	ann := &announcer{waiting: make(chan struct{})}
	waiterStore, err := Open(Config{Dir: dir, Logger: slog.New(ann), CheckInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	type result struct {
		l   *Lock
		err error
	}
	done := make(chan result, 1)
	go func() {
		l, err := waiterStore.Acquire(ctx, "app", AcquireOptions{Wait: true})
		done <- result{l, err}
	}()
	select {
	case <-ann.waiting:
	case r := <-done:
		t.Fatalf("the waiter returned before waiting: %v", r.err)
	case <-ctx.Done():
		t.Fatal("the waiter never said it waits")
	}
	for range 20 {
		// The holder and the waiter make files again as they are removed:
		// a removal can find the directory refilled (ENOTEMPTY), and
		// tries again.
		for tries := 0; ; tries++ {
			err := os.RemoveAll(dir)
			if err == nil {
				break
			}
			if !errors.Is(err, syscall.ENOTEMPTY) || tries == 100 {
				t.Fatal(err)
			}
		}
		select {
		case r := <-done:
			t.Fatalf("the waiter returned while the holder holds: %v, %v", r.l, r.err)
		default:
		}
	}
	if err := holder.Release(); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatalf("the waiter failed: %v", r.err)
		}
		r.l.Release()
	case <-ctx.Done():
		t.Fatal("the waiter did not take the name after the holder let go")
	}
}
