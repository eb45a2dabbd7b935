package singleinstance_test

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/singleinstance/singleinstance"
)

// syncBuffer is a log destination safe for the watchdog's goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRestoreWithoutDescriptionSaysSo deletes the lock file and puts a
// directory where the .info file was: the holder restores its lock but
// cannot describe itself. Its log must say exactly that, not that it still
// holds the old file, and the name must stay held.
func TestRestoreWithoutDescriptionSaysSo(t *testing.T) {
	t.Parallel()
	dir, opt := lockDir(t)
	var logs syncBuffer
	inst, err := singleinstance.New(testName, opt, singleinstance.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Release()
	lock, info := filepath.Join(dir, testName+".lock"), filepath.Join(dir, testName+".info")
	// The holder rewrites a deleted .info at once; a directory in its
	// place cannot be renamed over. Win that race within a few tries.
	for try := 0; ; try++ {
		os.Remove(info)
		err := os.Mkdir(info, 0o700)
		if err == nil {
			break
		}
		if try == 1000 {
			t.Fatalf("cannot put a directory in place of the .info file: %v", err)
		}
	}
	if err := os.Remove(lock); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(logs.String(), "lock file restored") {
		if time.Now().After(deadline) {
			t.Fatalf("no restore logged within 30s; log:\n%s", logs.String())
		}
		time.Sleep(time.Millisecond) // polling the log: no event to wait on
	}
	if strings.Contains(logs.String(), "still holding the old one") {
		t.Fatalf("log claims the old file is still held after the switch:\n%s", logs.String())
	}
	if err := inst.Err(); err != nil {
		t.Fatalf("Err = %v after a restore", err)
	}
	if _, err := singleinstance.New(testName, opt); err == nil {
		t.Fatal("a second instance started after the restore")
	}
	running, err := singleinstance.CheckRunning(testName, opt)
	if err != nil || !running {
		t.Fatalf("CheckRunning = %v, %v; want true", running, err)
	}
}
