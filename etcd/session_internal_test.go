package etcd

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestCheckGranted: a TTL that the server changed is logged, and one too
// short for the safety margin refused.
func TestCheckGranted(t *testing.T) {
	var logs bytes.Buffer
	b := &Backend{ttl: 2 * time.Second, margin: 400 * time.Millisecond,
		logger: slog.New(slog.NewTextHandler(&logs, nil))}
	if err := b.checkGranted(2 * time.Second); err != nil || logs.Len() != 0 {
		t.Fatalf("granted as requested: %v, logged %q", err, logs.String())
	}
	if err := b.checkGranted(5 * time.Second); err != nil {
		t.Fatalf("a longer TTL is usable: %v", err)
	}
	if !strings.Contains(logs.String(), "granted a different lease TTL") || !strings.Contains(logs.String(), "granted=5s") {
		t.Fatalf("no warning for a changed TTL: %q", logs.String())
	}
	if err := b.checkGranted(time.Second); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("a 1s TTL: %v, want ErrInvalidConfig", err)
	}
}
