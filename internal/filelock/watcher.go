package filelock

import (
	"context"
	"time"
)

// watcher is the per-platform event source behind Watcher.
type watcher interface {
	wait(ctx context.Context, max time.Duration)
	close() error
}
