//go:build linux

package filelock

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/sys/unix"
)

// wakeDeadline bounds every wait for a wake-up that must come; a passing
// one takes well under a millisecond.
const wakeDeadline = 10 * time.Second

func inotifyOf(w *Watcher) *inotifyWatcher { return w.w.(*inotifyWatcher) }

func mustWatch(t *testing.T, path string) *Watcher {
	t.Helper()
	w, err := Watch(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	if !w.Evented() {
		t.Fatal("Watcher on Linux is not evented")
	}
	return w
}

// expectWake waits until an event reaches w, as its Wait would see it.
func expectWake(t *testing.T, w *Watcher, what string) time.Duration {
	t.Helper()
	start := time.Now()
	select {
	case <-inotifyOf(w).wake:
		return time.Since(start)
	case <-time.After(wakeDeadline):
		t.Fatalf("%s: no wake-up within %v", what, wakeDeadline)
	}
	return 0
}

// barrier is a Watcher on a file of its own. The process's Watchers share
// one inotify instance, whose events arrive in order: once the barrier has
// seen its own write, every event queued before it has reached its
// Watchers. No window of time is needed to tell that one did not come.
type barrier struct {
	t *testing.T
	f *os.File
	w *Watcher
}

func newBarrier(t *testing.T) *barrier {
	t.Helper()
	path := filepath.Join(t.TempDir(), "barrier")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	b := &barrier{t: t, f: f, w: mustWatch(t, path)}
	t.Cleanup(func() { f.Close() })
	return b
}

// sync returns once every event caused before it was called has reached
// its Watchers.
func (b *barrier) sync() {
	b.t.Helper()
	select {
	case <-inotifyOf(b.w).wake:
	default:
	}
	if _, err := b.f.WriteAt([]byte("x"), 0); err != nil {
		b.t.Fatal(err)
	}
	expectWake(b.t, b.w, "barrier")
}

// close closes the barrier's Watcher.
func (b *barrier) close() { b.w.Close() }

// expectQuiet checks that nothing done so far woke any of ws.
func expectQuiet(t *testing.T, b *barrier, what string, ws ...*Watcher) {
	t.Helper()
	b.sync()
	for i, w := range ws {
		select {
		case <-inotifyOf(w).wake:
			t.Fatalf("%s: watcher %d was woken", what, i)
		default:
		}
	}
}

// rearm does what w's next Wait does first: it moves the watches to what
// w's path names now and, if they moved, drops the events so far (the
// caller looks again anyway). It reports whether they moved.
func rearm(t *testing.T, b *barrier, w *Watcher) bool {
	t.Helper()
	b.sync()
	hub.mu.Lock()
	moved, err := inotifyOf(w).arm()
	hub.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if moved {
		select {
		case <-inotifyOf(w).wake:
		default:
		}
	}
	return moved
}

// inotifyFDs lists the process's inotify descriptors.
func inotifyFDs(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	var fds []string
	for _, e := range entries {
		if l, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil && l == "anon_inode:inotify" {
			fds = append(fds, e.Name())
		}
	}
	return fds
}

// kernelWatches counts the watches of the inotify descriptor fd.
func kernelWatches(t *testing.T, fd string) int {
	t.Helper()
	data, err := os.ReadFile("/proc/self/fdinfo/" + fd)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(data), "inotify wd:")
}

// oneInstance checks that the process has exactly one inotify descriptor
// and returns it.
func oneInstance(t *testing.T) string {
	t.Helper()
	fds := inotifyFDs(t)
	if len(fds) != 1 {
		t.Fatalf("%d inotify instances open, want 1", len(fds))
	}
	return fds[0]
}

// noWatches checks that, with every Watcher closed, the process's inotify
// instance (kept for later Watchers) has no watch left, and waits until its
// reader has ended.
func noWatches(t *testing.T) {
	t.Helper()
	hub.mu.Lock()
	in := hub.cur
	var watchers, marks int
	if in != nil {
		watchers, marks = len(in.watchers), len(in.marks)
	}
	hub.mu.Unlock()
	if watchers != 0 || marks != 0 {
		t.Fatalf("%d Watchers and %d watches still known with every Watcher closed", watchers, marks)
	}
	switch fds := inotifyFDs(t); {
	case len(fds) > 1:
		t.Fatalf("%d inotify instances open, want at most 1", len(fds))
	case len(fds) == 1:
		if n := kernelWatches(t, fds[0]); n != 0 {
			t.Fatalf("%d kernel watches left with every Watcher closed", n)
		}
	}
	goleak.VerifyNone(t) // retries until the reader has ended
}

// look is what a waiter does on every wake-up: open the file read-only,
// read it, ask about the lock, close it. It reports whether the file is
// locked (false if it does not exist).
func look(t *testing.T, path string) bool {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return false
	}
	if err != nil {
		t.Error(err)
		return false
	}
	defer f.Close()
	f.ReadAt(make([]byte, 64), 0)
	os.Stat(path)
	locked, err := IsLocked(f)
	if err != nil {
		t.Error(err)
	}
	return locked
}

func lockFile(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if err := TryLock(f); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestWatcherSleepsThroughReaders: looking at the lock, as the waiter and
// every status reader do, wakes no Watcher; the holder's close does.
func TestWatcherSleepsThroughReaders(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	holder := lockFile(t, path)
	b := newBarrier(t)
	w := mustWatch(t, path)
	for range 50 {
		if !look(t, path) {
			t.Fatal("lock not seen held")
		}
	}
	expectQuiet(t, b, "after 50 looks at the lock", w)
	holder.Close()
	t.Logf("woken %v after the holder closed its descriptor", expectWake(t, w, "holder closed"))
	if look(t, path) {
		t.Fatal("lock still held after its holder closed it")
	}
}

// TestWatcherWakesOnChanges: each change that may free or take the lock,
// or that replaces the file, wakes the Watcher; each but a write wakes a
// WatchRelease Watcher too, which sleeps through the write.
func TestWatcherWakesOnChanges(t *testing.T) {
	for _, tc := range []struct {
		name   string
		exists bool
		open   bool // the test holds the file open for writing
		write  bool // only a write: WatchRelease sleeps through it
		do     func(path string, f *os.File) error
	}{
		{"holder closes", true, true, false, func(_ string, f *os.File) error { return f.Close() }},
		{"holder records itself", true, true, true, func(_ string, f *os.File) error {
			_, err := f.WriteAt([]byte("held"), 0)
			return err
		}},
		{"holder unlocks and closes", true, true, false, func(_ string, f *os.File) error {
			return errors.Join(Unlock(f), f.Close())
		}},
		{"removed", true, false, false, func(path string, _ *os.File) error { return os.Remove(path) }},
		{"removed while open", true, true, false, func(path string, _ *os.File) error { return os.Remove(path) }},
		{"replaced", true, false, false, func(path string, _ *os.File) error {
			if err := os.WriteFile(path+".new", nil, 0o644); err != nil {
				return err
			}
			return os.Rename(path+".new", path)
		}},
		{"moved away", true, false, false, func(path string, _ *os.File) error { return os.Rename(path, path+".old") }},
		{"created", false, false, false, func(path string, _ *os.File) error { return os.WriteFile(path, nil, 0o644) }},
		{"mode changed", true, false, false, func(path string, _ *os.File) error { return os.Chmod(path, 0o600) }},
		{"directory removed", false, false, false, func(path string, _ *os.File) error { return os.Remove(filepath.Dir(path)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "d", "x.lock")
			if err := os.Mkdir(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			var f *os.File
			if tc.exists {
				f = lockFile(t, path)
				if !tc.open {
					f.Close()
				} else {
					defer f.Close()
				}
			}
			b := newBarrier(t)
			w := mustWatch(t, path)
			release, err := WatchRelease(path)
			if err != nil {
				t.Fatal(err)
			}
			defer release.Close()
			if err := tc.do(path, f); err != nil {
				t.Fatal(err)
			}
			t.Logf("woken after %v", expectWake(t, w, tc.name))
			if tc.write {
				expectQuiet(t, b, tc.name+", WatchRelease", release)
			} else {
				t.Logf("WatchRelease woken after %v", expectWake(t, release, tc.name))
			}
		})
	}
	noWatches(t)
}

// TestWatcherFollowsPath: a Watcher whose directory does not exist yet
// watches the nearest ancestor and moves down as directories appear; it
// moves to a file that replaces the watched one and lets the old one go.
func TestWatcherFollowsPath(t *testing.T) {
	root := t.TempDir()
	path := filepath.Join(root, "a", "b", "x.lock")
	b := newBarrier(t)
	w := mustWatch(t, path)
	if err := os.WriteFile(filepath.Join(root, "other"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	expectQuiet(t, b, "a file of another name created in the ancestor", w)

	for _, dir := range []string{filepath.Join(root, "a"), filepath.Join(root, "a", "b")} {
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		expectWake(t, w, "mkdir "+dir)
		if !rearm(t, b, w) {
			t.Fatalf("watch did not move after mkdir %s", dir)
		}
	}
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	expectWake(t, w, "lock file created")
	if !rearm(t, b, w) {
		t.Fatal("watch did not move to the created file")
	}
	if rearm(t, b, w) {
		t.Fatal("watch moved with nothing changed")
	}
	old := lockFile(t, path)
	defer old.Close()
	expectQuiet(t, b, "opened for writing", w)
	old.WriteAt([]byte("x"), 0)
	expectWake(t, w, "write")

	// Replaced: the new file is watched, the old one no longer.
	if err := os.WriteFile(path+".new", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".new", path); err != nil {
		t.Fatal(err)
	}
	expectWake(t, w, "replaced")
	if !rearm(t, b, w) {
		t.Fatal("watch did not move to the replacing file")
	}
	old.WriteAt([]byte("y"), 0)
	old.Close()
	expectQuiet(t, b, "the replaced file written and closed", w)
	if err := os.WriteFile(path, []byte("z"), 0o644); err != nil {
		t.Fatal(err)
	}
	expectWake(t, w, "replacing file written")

	// Deleted with nobody having it open: the kernel drops the watch
	// (IN_IGNORED), and a file created afterwards is watched anew.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	expectWake(t, w, "removed")
	if !rearm(t, b, w) {
		t.Fatal("watch did not move off the removed file")
	}
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	expectWake(t, w, "created again")
	if !rearm(t, b, w) {
		t.Fatal("watch did not move to the new file")
	}
	f := lockFile(t, path)
	f.Close()
	expectWake(t, w, "new file closed by a writer")
}

// TestWatchersShareOneInstance: 200 Watchers, on 200 files of one directory
// and twice on one file, use one inotify instance with one watch per inode;
// an event wakes only the Watchers of its file; a watch is removed with its
// last user; with the last Watcher the reader goes, and the next Watcher
// uses the same instance.
func TestWatchersShareOneInstance(t *testing.T) {
	dir := t.TempDir()
	b := newBarrier(t)
	const n = 200
	ws := make([]*Watcher, n)
	for i := range ws {
		path := filepath.Join(dir, fmt.Sprintf("n%d.lock", i))
		if err := os.WriteFile(path, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		var err error
		if ws[i], err = Watch(path); err != nil {
			t.Fatalf("watcher %d: %v", i, err)
		}
	}
	twin, err := Watch(filepath.Join(dir, "n7.lock"))
	if err != nil {
		t.Fatal(err)
	}
	// Events of the files' creation may still reach Watchers that started
	// after them: spurious wake-ups, which waiters tolerate. Drop them.
	b.sync()
	for _, w := range append(ws, twin) {
		select {
		case <-inotifyOf(w).wake:
		default:
		}
	}
	fd := oneInstance(t)
	hub.mu.Lock()
	shared := hub.cur
	hub.mu.Unlock()
	// The barrier's file and directory add two.
	if got := kernelWatches(t, fd); got != n+1+2 {
		t.Fatalf("%d kernel watches, want %d (the directory and each file once)", got-2, n+1)
	}
	fresh, err := unix.InotifyInit1(unix.IN_CLOEXEC)
	if err != nil {
		t.Fatalf("a new inotify instance with %d Watchers open: %v", n+1, err)
	}
	unix.Close(fresh)

	f := lockFile(t, filepath.Join(dir, "n7.lock"))
	f.Close()
	expectWake(t, ws[7], "n7 closed")
	expectWake(t, twin, "n7 closed, second watcher")
	others := append(append([]*Watcher{}, ws[:7]...), ws[8:]...)
	expectQuiet(t, b, "n7 closed, watchers of other files", others...)

	ws[7].Close()
	if got := kernelWatches(t, fd); got != n+1+2 {
		t.Fatalf("%d kernel watches after one of two users closed, want %d", got-2, n+1)
	}
	f = lockFile(t, filepath.Join(dir, "n7.lock"))
	f.Close()
	expectWake(t, twin, "n7 closed after its other watcher closed")
	twin.Close()
	if got := kernelWatches(t, fd); got != n+2 {
		t.Fatalf("%d kernel watches after both users closed, want %d", got-2, n)
	}
	b.close()

	var slowest time.Duration
	for i, w := range ws {
		if i == 7 {
			continue
		}
		start := time.Now()
		w.Close()
		slowest = max(slowest, time.Since(start))
	}
	t.Logf("slowest Close: %v", slowest)
	noWatches(t)

	w := mustWatch(t, filepath.Join(dir, "n7.lock"))
	oneInstance(t)
	hub.mu.Lock()
	again := hub.cur
	hub.mu.Unlock()
	if again != shared {
		t.Fatal("a new inotify instance after all Watchers closed, want the same one kept")
	}
	f = lockFile(t, filepath.Join(dir, "n7.lock"))
	f.Close()
	expectWake(t, w, "n7 closed, watched after the reader had ended")
	w.Close()
	noWatches(t)
}

// TestWatcherWaiterCPU runs a waiter as the library and the CLI do (look
// at the lock, Wait, again) while another descriptor holds the lock, and
// measures the process's CPU time over a few seconds: it must stay near
// zero. The holder's close must then still wake the waiter at once.
func TestWatcherWaiterCPU(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	holder := lockFile(t, path)
	waiting := make(chan struct{})
	done := make(chan time.Time, 1)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	go func() {
		w, err := Watch(path)
		if err != nil {
			t.Error(err)
			close(waiting)
			return
		}
		for first := true; look(t, path); first = false {
			if first {
				close(waiting)
			}
			if w.Wait(ctx, time.Minute) != nil {
				break
			}
		}
		woke := time.Now()
		w.Close()
		done <- woke
	}()
	<-waiting

	const window = 3 * time.Second
	before, start := cpuTime(t), time.Now()
	select {
	case <-done:
		t.Fatal("waiter returned while the lock is held")
	case <-time.After(window):
	}
	used, elapsed := cpuTime(t)-before, time.Since(start)
	share := float64(used) / float64(elapsed)
	t.Logf("waiting process used %v of CPU in %v (%.2f%% of one core)", used, elapsed.Round(time.Millisecond), 100*share)
	if share > 0.02 {
		t.Errorf("waiting used %.1f%% of one core, want under 2%%", 100*share)
	}

	released := time.Now()
	holder.Close()
	select {
	case woke := <-done:
		t.Logf("waiter saw the lock free %v after the holder closed it", woke.Sub(released))
	case <-time.After(wakeDeadline):
		t.Fatalf("waiter did not see the lock free within %v", wakeDeadline)
	}
	noWatches(t)
}

// cpuTime is the CPU time, user and system, this process has used.
func cpuTime(t *testing.T) time.Duration {
	t.Helper()
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestWatcherWaitBounds: Wait returns after max without an event, and with
// ctx's error once ctx is done, however long max is.
func TestWatcherWaitBounds(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	w := mustWatch(t, path)
	if err := w.Wait(t.Context(), time.Millisecond); err != nil {
		t.Fatalf("Wait with max 1ms: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- w.Wait(ctx, time.Hour) }()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Wait with an expiring context: %v, want context.DeadlineExceeded", err)
		}
	case <-time.After(wakeDeadline):
		t.Fatalf("Wait did not return within %v of its context's end", wakeDeadline)
	}
	w.Close()
	noWatches(t)
}

// TestWatcherWaitQuiet: a wait that lasts until its bound with nothing
// happening at the path is quiet; one after any change at the path is not,
// whether the change woke it or moved its watches, and the next is quiet
// again. A wait ended by its context is never quiet.
func TestWatcherWaitQuiet(t *testing.T) {
	quiet := func(t *testing.T, w *Watcher) bool {
		t.Helper()
		q, err := w.WaitQuiet(t.Context(), time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		return q
	}
	for _, tc := range []struct {
		name   string
		exists bool
		do     func(path string) error
	}{
		{"written", true, func(path string) error { return os.WriteFile(path, []byte("held"), 0o644) }},
		{"removed", true, os.Remove},
		{"created", false, func(path string) error { return os.WriteFile(path, nil, 0o644) }},
		{"replaced", true, func(path string) error {
			if err := os.WriteFile(path+".new", nil, 0o644); err != nil {
				return err
			}
			return os.Rename(path+".new", path)
		}},
		{"directory created", false, func(path string) error { return os.Mkdir(filepath.Dir(path), 0o755) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBarrier(t)
			path := filepath.Join(t.TempDir(), "d", "x.lock")
			if tc.name != "directory created" {
				if err := os.Mkdir(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if tc.exists {
				if err := os.WriteFile(path, nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			w := mustWatch(t, path)
			if !quiet(t, w) {
				t.Fatal("a wait with nothing happening was not quiet")
			}
			if err := tc.do(path); err != nil {
				t.Fatal(err)
			}
			b.sync()
			if quiet(t, w) {
				t.Fatalf("the wait after the path was %s was quiet", tc.name)
			}
			b.sync()
			if q := quiet(t, w); !q {
				// One change may take two waits to settle: a wake-up, then
				// the watches moving.
				if !quiet(t, w) {
					t.Fatalf("waits after the path was %s stay not quiet", tc.name)
				}
			}
		})
	}
	t.Run("context ended", func(t *testing.T) {
		w := mustWatch(t, filepath.Join(t.TempDir(), "x.lock"))
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if q, err := w.WaitQuiet(ctx, time.Millisecond); q || !errors.Is(err, context.Canceled) {
			t.Fatalf("WaitQuiet with a cancelled context: %v, %v; want false, context.Canceled", q, err)
		}
	})
	t.Run("polling", func(t *testing.T) {
		w := &Watcher{w: &pollWatcher{}}
		if q, err := w.WaitQuiet(t.Context(), time.Millisecond); q || err != nil {
			t.Fatalf("a polling WaitQuiet: %v, %v; want false, nil", q, err)
		}
	})
	noWatches(t)
}

// TestWatcherSurvivesLostInstance: if reading the shared instance fails
// (here: its descriptor is closed under the reader), its Watchers are woken
// and move to a new instance at their next Wait, where events reach them
// again.
func TestWatcherSurvivesLostInstance(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	w := mustWatch(t, path)
	hub.mu.Lock()
	lost := hub.cur
	hub.mu.Unlock()
	lost.f.Close()
	expectWake(t, w, "instance lost")
	if err := w.Wait(t.Context(), wakeDeadline); err != nil {
		t.Fatal(err)
	}
	hub.mu.Lock()
	cur, in := hub.cur, inotifyOf(w).in
	hub.mu.Unlock()
	if cur == nil || cur == lost || in != cur {
		t.Fatal("the Watcher did not move to a new instance")
	}
	f := lockFile(t, path)
	f.Close()
	expectWake(t, w, "closed by a writer, on the new instance")
	oneInstance(t)
	w.Close()
	noWatches(t)
}
