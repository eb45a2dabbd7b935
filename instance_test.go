package singleinstance_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/singleinstance/singleinstance"
	"github.com/singleinstance/singleinstance/internal/filelock"
)

func TestReleaseIdempotentAndConcurrent(t *testing.T) {
	t.Parallel()
	_, opt := lockDir(t)
	inst, err := singleinstance.New(testName, opt)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() { errs[i] = inst.Release() })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Release #%d: %v", i, err)
		}
	}
	if err := inst.Release(); err != nil {
		t.Errorf("Release after release: %v", err)
	}
	again, err := singleinstance.New(testName, opt)
	if err != nil {
		t.Fatalf("New after Release: %v", err)
	}
	again.Release()
}

func TestSameProcessSecondNewRefused(t *testing.T) {
	t.Parallel()
	_, opt := lockDir(t)
	inst, err := singleinstance.New(testName, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Release()
	if _, err := singleinstance.New(testName, opt); !errors.Is(err, singleinstance.ErrAlreadyRunning) {
		t.Fatalf("second New in the same process: %v, want ErrAlreadyRunning", err)
	}
}

func TestTokensGrowAcrossAcquisitions(t *testing.T) {
	t.Parallel()
	dir, opt := lockDir(t)
	var last uint64
	for i := range 5 {
		inst, err := singleinstance.New(testName, opt)
		if err != nil {
			t.Fatal(err)
		}
		tok := inst.Token()
		if tok <= last {
			t.Fatalf("acquisition %d: token %d not greater than %d", i, tok, last)
		}
		last = tok
		st, err := singleinstance.Status(testName, opt)
		if err != nil || st.Holder == nil || st.Holder.Token != tok || !st.Verified {
			t.Fatalf("Status token = %+v, %v; want %d, verified", st, err, tok)
		}
		inst.Release()
		if i == 2 {
			// Deleting every file loses no monotonicity.
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				os.Remove(filepath.Join(dir, e.Name()))
			}
		}
	}
}

func TestRunReleasesOnPanic(t *testing.T) {
	t.Parallel()
	_, opt := lockDir(t)
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Fatalf("recovered %v, want the panic to continue", r)
			}
		}()
		singleinstance.Run(testName, func(ctx context.Context) error { panic("boom") }, opt)
	}()
	running, err := singleinstance.CheckRunning(testName, opt)
	if err != nil || running {
		t.Fatalf("after panic: running=%v err=%v", running, err)
	}
}

func TestRunReturnsFnError(t *testing.T) {
	t.Parallel()
	_, opt := lockDir(t)
	want := errors.New("bot failed")
	err := singleinstance.Run(testName, func(ctx context.Context) error {
		running, err := singleinstance.CheckRunning(testName, opt)
		if err != nil || !running {
			t.Errorf("inside Run: running=%v err=%v", running, err)
		}
		return want
	}, opt)
	if !errors.Is(err, want) {
		t.Fatalf("Run = %v, want %v", err, want)
	}
}

// TestLostLockCancelsRun replaces the lock file of a running Run with one
// that another open file holds: Run's context must be cancelled with a
// cause matching ErrLockLost, and Run must return that error.
func TestLostLockCancelsRun(t *testing.T) {
	t.Parallel()
	dir, opt := lockDir(t)
	lock := filepath.Join(dir, testName+".lock")
	started := make(chan struct{})
	var cause error
	done := make(chan error, 1)
	go func() {
		done <- singleinstance.Run(testName, func(ctx context.Context) error {
			close(started)
			<-ctx.Done()
			cause = context.Cause(ctx)
			return nil
		}, opt, singleinstance.WithLogger(discardLogger()))
	}()
	<-started
	// Another "process" (another open file description) locks a new file
	// and records itself as holder, then moves it over the lock path.
	other, err := os.OpenFile(lock+".other", os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := filelock.TryLock(other); err != nil {
		t.Fatal(err)
	}
	if _, err := other.WriteString("singleinstance token=09999999999999999999 state=held\n"); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(lock+".other", lock); err != nil {
		t.Fatal(err)
	}
	err = <-done
	if !errors.Is(err, singleinstance.ErrLockLost) {
		t.Fatalf("Run = %v, want ErrLockLost", err)
	}
	if !errors.Is(cause, singleinstance.ErrLockLost) {
		t.Fatalf("context cause = %v, want ErrLockLost", cause)
	}
	if !strings.Contains(err.Error(), lock) {
		t.Errorf("error %q does not name the lock file", err)
	}
}

// TestLockFileRestoredAfterDeletion deletes a held lock file; the holder
// recreates and relocks it, and rewrites the info files it lost.
func TestLockFileRestoredAfterDeletion(t *testing.T) {
	t.Parallel()
	dir, opt := lockDir(t)
	inst, err := singleinstance.New(testName, opt, singleinstance.WithLogger(discardLogger()))
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Release()
	lock := filepath.Join(dir, testName+".lock")
	before := inst.Holder().LockInode
	for _, f := range []string{".lock", ".info", ".pid"} {
		if err := os.Remove(filepath.Join(dir, testName+f)); err != nil {
			t.Fatal(err)
		}
	}
	// Wait for the restore (file events on Linux, the check interval
	// elsewhere) by waiting for the new lock file to be locked.
	w, err := filelock.Watch(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for {
		if st, err := singleinstance.Status(testName, opt, singleinstance.WithLiveStats(false)); err == nil &&
			st.Running && !st.Orphaned && st.Verified {
			break
		}
		if err := w.Wait(t.Context(), 10*time.Millisecond); err != nil {
			t.Fatal("lock file never restored")
		}
	}
	if inst.Holder().LockInode == before {
		t.Fatal("holder still records the deleted lock file")
	}
	if _, err := os.Stat(lock); err != nil {
		t.Fatal(err)
	}
	if inst.Err() != nil {
		t.Fatalf("restored lock reported lost: %v", inst.Err())
	}
}

func TestFromContextInsideRun(t *testing.T) {
	t.Parallel()
	_, opt := lockDir(t)
	err := singleinstance.Run(testName, func(ctx context.Context) error {
		inst, ok := singleinstance.FromContext(ctx)
		if !ok || inst.Token() == 0 || inst.Name() != testName {
			t.Errorf("FromContext = %v, %v", inst, ok)
		}
		return nil
	}, opt)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := singleinstance.FromContext(t.Context()); ok {
		t.Error("FromContext found an instance in an unrelated context")
	}
}
