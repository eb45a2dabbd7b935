package filelock

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if a test leaves a goroutine behind, such as the
// reader of an inotify instance that no Watcher uses any more.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
