//go:build linux

package filelock

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// On Linux every Watcher of a process shares one inotify instance.
//
// The kernel counts inotify instances per user (fs.inotify.max_user_instances,
// 128 by default), across every program that user runs, while watches are
// plentiful. An instance per Watcher let one process that holds 128 locks
// take them all, and then tail -f and every other program of the user lost
// inotify. hub is therefore process-wide state: the OS forces it on us.
//
// Like the runtime's epoll instance, it is opened on first use and kept
// for the life of the process. While a Watcher is open, one goroutine reads
// it and hands each event to the Watchers it concerns; when the last
// Watcher closes, its watches are removed and the goroutine ends, and the
// next Watcher starts a new one. Keeping the instance spares every Close
// the wait for the kernel to retire an instance's watches (an RCU grace
// period, several milliseconds), spares a process that takes and releases
// locks in a loop an instance created and destroyed each time, and keeps
// the process at exactly one instance, even while the kernel is slow to
// retire one (a user at the limit then could not create a new one).
//
// The kernel keeps one watch per inode per instance: adding a watch for an
// inode already watched returns the same watch descriptor, with
// IN_MASK_ADD widening its mask. Several Watchers therefore share a
// watch (all the lock files of one directory share the directory's), which
// is counted here and removed when its last user lets it go. The shared
// mask is the union of what its users want; each Watcher filters events
// for itself. A watch is never narrowed, only removed.
var hub inotifyHub

type inotifyHub struct {
	mu  sync.Mutex
	cur *inotifyInstance // nil until first used, or after reading it failed
}

// inotifyInstance is one inotify descriptor and what is known of its
// watches. Its fields are guarded by hub.mu.
type inotifyInstance struct {
	f        *os.File
	fd       int
	marks    map[int32]*mark // live kernel watches by descriptor
	watchers map[*inotifyWatcher]struct{}
	reading  bool   // a goroutine runs readLoop
	buf      []byte // readLoop's; one runs at a time
}

// mark is one kernel watch and the Watchers that use it.
type mark struct {
	wd    int32
	users map[*inotifyWatcher]int // how many of a Watcher's roles (directory, file) use it
	// dead means the kernel removed the watch (IN_IGNORED) or this package
	// did. Its descriptor is then never used again: it is not removed a
	// second time, and a later watch that gets the same number (the kernel
	// hands numbers out in a cycle, so only after some two billion others)
	// gets a mark of its own.
	dead bool
}

// The events a Watcher wakes on.
const (
	// fileMask, on the lock file: a close of a descriptor opened for
	// writing (every holder's is: a write lock needs one), which includes a
	// holder's release or exit; a write (a holder records itself after
	// locking, and records its release before unlocking); metadata changes
	// (the link count dropping); the file deleted or moved.
	//
	// Opens, reads and closes of read-only descriptors are left out on
	// purpose: they are what every reader does, including the waiter that
	// owns the Watcher (see IsLocked and the status probes). Watching them
	// made a waiter wake itself with its own look at the lock, forever.
	fileMask = unix.IN_CLOSE_WRITE | unix.IN_MODIFY | unix.IN_ATTRIB |
		unix.IN_DELETE_SELF | unix.IN_MOVE_SELF
	// releaseMask is fileMask without writes, for WatchRelease.
	releaseMask = fileMask &^ unix.IN_MODIFY
	// dirMask, on the directory that holds the file: an entry of the
	// file's name created, moved in or out, or deleted; the directory
	// itself deleted or moved.
	dirMask = dirEntryMask | dirSelfMask | unix.IN_ONLYDIR
	// ancestorMask, while that directory does not exist, on its nearest
	// existing ancestor (often a busy one, such as /tmp): only what can
	// bring the next missing directory into existence, so that the
	// ancestor's other traffic reaches this process as little as possible.
	ancestorMask = unix.IN_CREATE | unix.IN_MOVED_TO | dirSelfMask | unix.IN_ONLYDIR
	// dirEntryMask are the directory's events that name an entry.
	dirEntryMask = unix.IN_CREATE | unix.IN_MOVED_TO | unix.IN_MOVED_FROM | unix.IN_DELETE
	// dirSelfMask are the directory's events about itself.
	dirSelfMask = unix.IN_DELETE_SELF | unix.IN_MOVE_SELF
	// goneMask are the events that end a watch, whatever was asked for.
	goneMask = unix.IN_IGNORED | unix.IN_UNMOUNT
)

// inotifyWatcher watches one path: the file, and the directory entry that
// names it, so that a file created, replaced or deleted at the path is seen
// too. While the directory does not exist, it watches the nearest ancestor
// that does for the next missing component. If the directory's path goes
// through symbolic links (a deploy's "current", /var/run), it also watches
// the entry of each link in its own directory: a link re-pointed, made or
// removed makes the path name another file, with no event on the file or
// its directory.
type inotifyWatcher struct {
	path string
	// fileEvents are the file's events that concern the Watcher: fileMask,
	// or releaseMask. The kernel watch, shared, has fileMask.
	fileEvents uint32
	// wake holds a token when an event arrived since the last Wait
	// returned; events between two Waits are not lost.
	wake chan struct{}

	// Guarded by hub.mu; in is nil while the Watcher has no watches.
	in    *inotifyInstance
	dir   *mark  // the directory, or the nearest existing ancestor
	name  string // the entry awaited in dir
	file  *mark  // the file; nil while it does not exist
	links []linkMark
}

// linkMark is a watch on the directory that holds a symbolic link on the
// watched path, for that link's entry.
type linkMark struct {
	m    *mark
	name string
}

func newWatcher(path string, releaseOnly bool) (watcher, error) {
	w := &inotifyWatcher{path: filepath.Clean(path), fileEvents: fileMask, wake: make(chan struct{}, 1)}
	if releaseOnly {
		w.fileEvents = releaseMask
	}
	hub.mu.Lock()
	defer hub.mu.Unlock()
	if _, err := w.arm(); err != nil {
		return nil, err
	}
	return w, nil
}

// wait first puts the watches back on what the path names now. If they
// move (the file was created, replaced or deleted, the directory came into
// existence, or the instance was replaced), it returns at once: what
// happened before the new watches were in place went unseen, so the caller
// must look again before waiting. Otherwise it blocks until an event, max,
// or ctx.
func (w *inotifyWatcher) wait(ctx context.Context, max time.Duration) (quiet bool) {
	hub.mu.Lock()
	moved, err := w.arm() // on error the old watches, if any, stay; max bounds the wait
	hub.mu.Unlock()
	if moved {
		select {
		case <-w.wake:
		default:
		}
		return false
	}
	t := time.NewTimer(max)
	defer t.Stop()
	select {
	case <-w.wake:
		return false
	case <-t.C:
	case <-ctx.Done():
		return false
	}
	// An event that came with the timer is not lost: it makes the wait
	// not quiet, rather than waiting for the next one.
	select {
	case <-w.wake:
		return false
	default:
		return err == nil
	}
}

// close drops the Watcher's watches. Removing a watch hands its teardown
// to a kernel worker, so close never waits for the kernel.
func (w *inotifyWatcher) close() error {
	hub.mu.Lock()
	defer hub.mu.Unlock()
	w.disarm()
	return nil
}

// arm watches what the path names now and reports whether that changed.
// On error it keeps the watches it had. The caller holds hub.mu.
func (w *inotifyWatcher) arm() (moved bool, err error) {
	in, err := hub.instance()
	if err != nil {
		return false, err
	}
	// The directory first, then the file: a file created between the two
	// is then seen by one or the other.
	dirPath, name := filepath.Dir(w.path), filepath.Base(w.path)
	var dirWd int
	for mask := uint32(dirMask); ; mask = ancestorMask {
		dirWd, err = unix.InotifyAddWatch(in.fd, dirPath, mask|unix.IN_MASK_ADD)
		if err == nil {
			break
		}
		parent := filepath.Dir(dirPath)
		if !missing(err) || parent == dirPath {
			in.idle()
			return false, err
		}
		dirPath, name = parent, filepath.Base(dirPath)
	}
	dir := in.mark(dirWd)
	var file *mark
	if dirPath == filepath.Dir(w.path) {
		fileWd, err := unix.InotifyAddWatch(in.fd, w.path, fileMask|unix.IN_MASK_ADD)
		switch {
		case err == nil:
			file = in.mark(fileWd)
		case !missing(err):
			in.unused(dir)
			in.idle()
			return false, err
		}
	}
	links := in.linkMarks(filepath.Dir(w.path))
	if in == w.in && dir == w.dir && file == w.file && name == w.name && slices.Equal(links, w.links) {
		return false, nil
	}
	// Take the new marks before letting the old go: a mark in both must
	// not reach zero users in between. A Watcher with watches is always in
	// the current instance (an abandoned instance takes them away).
	in.use(w, dir)
	in.use(w, file)
	for _, l := range links {
		in.use(w, l.m)
	}
	if w.in != nil {
		in.releaseMarks(w)
	}
	in.watchers[w] = struct{}{}
	w.in, w.dir, w.name, w.file, w.links = in, dir, name, file, links
	in.ensureReader()
	return true, nil
}

// maxLinks bounds how many symbolic links linkMarks follows, as the
// kernel bounds a path's (ELOOP).
const maxLinks = 40

// linkMarks returns watches on the entry of every symbolic link that dir
// (absolute) goes through, in the directory that holds it, following the
// links' targets as the kernel would. A link that cannot be watched is
// left out: its change is then seen at the holder's next periodic check,
// as before. The caller holds hub.mu; the marks are not in use yet.
func (in *inotifyInstance) linkMarks(dir string) []linkMark {
	if !filepath.IsAbs(dir) {
		return nil
	}
	var links []linkMark
	resolved, rest := "/", strings.Split(dir, "/")
	for followed := 0; len(rest) > 0; {
		c := rest[0]
		rest = rest[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			resolved = filepath.Dir(resolved)
			continue
		}
		next := filepath.Join(resolved, c)
		target, err := os.Readlink(next)
		if err != nil {
			resolved = next // not a link, or not there (yet)
			continue
		}
		if wd, err := unix.InotifyAddWatch(in.fd, resolved, dirMask|unix.IN_MASK_ADD); err == nil {
			m := in.mark(wd)
			if !slices.ContainsFunc(links, func(l linkMark) bool { return l.m == m && l.name == c }) {
				links = append(links, linkMark{m: m, name: c})
			}
		}
		if followed++; followed > maxLinks {
			break
		}
		if filepath.IsAbs(target) {
			resolved = "/"
		}
		rest = append(strings.Split(target, "/"), rest...)
	}
	return links
}

// disarm lets the Watcher's watches go. The caller holds hub.mu.
func (w *inotifyWatcher) disarm() {
	in := w.in
	if in == nil {
		return
	}
	in.releaseMarks(w)
	w.forget()
	delete(in.watchers, w)
	in.idle()
}

// forget drops the Watcher's record of its watches, which it no longer
// uses. The caller holds hub.mu.
func (w *inotifyWatcher) forget() {
	w.in, w.dir, w.name, w.file, w.links = nil, nil, "", nil, nil
}

// notify wakes the Watcher's Wait, now or when it next waits.
func (w *inotifyWatcher) notify() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// wants reports whether an event on m (name is the entry it names, if any)
// concerns the Watcher.
func (w *inotifyWatcher) wants(m *mark, mask uint32, name []byte) bool {
	if mask&goneMask != 0 {
		return true
	}
	if m == w.file && mask&w.fileEvents != 0 {
		return true
	}
	if m == w.dir {
		if mask&dirSelfMask != 0 {
			return true
		}
		if mask&dirEntryMask != 0 && string(name) == w.name {
			return true
		}
	}
	for _, l := range w.links {
		if m == l.m && (mask&dirSelfMask != 0 || mask&dirEntryMask != 0 && string(name) == l.name) {
			return true
		}
	}
	return false
}

// missing reports whether an error adding a watch means that the path, or
// a directory on it, does not exist (yet).
func missing(err error) bool {
	return errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR)
}

// instance returns the process's instance, opening it if there is none.
// The caller holds h.mu.
func (h *inotifyHub) instance() (*inotifyInstance, error) {
	if h.cur != nil {
		return h.cur, nil
	}
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, err
	}
	in := &inotifyInstance{
		// A non-blocking descriptor handed to os.NewFile joins the
		// runtime's poller: the reader parks without pinning a thread,
		// and a read deadline can stop it.
		f:        os.NewFile(uintptr(fd), "inotify"),
		fd:       fd,
		marks:    make(map[int32]*mark),
		watchers: make(map[*inotifyWatcher]struct{}),
		buf:      make([]byte, readBufSize),
	}
	h.cur = in
	return in, nil
}

// mark returns the mark for a descriptor that InotifyAddWatch returned. The
// kernel hands out descriptors in a cycle, so one that names a live mark
// here is that same watch. The caller holds hub.mu.
func (in *inotifyInstance) mark(wd int) *mark {
	m := in.marks[int32(wd)]
	if m == nil {
		m = &mark{wd: int32(wd), users: make(map[*inotifyWatcher]int)}
		in.marks[m.wd] = m
	}
	return m
}

// releaseMarks lets go of every mark w uses: its directory, its file and
// its links' directories. The caller holds hub.mu.
func (in *inotifyInstance) releaseMarks(w *inotifyWatcher) {
	in.release(w, w.dir)
	in.release(w, w.file)
	for _, l := range w.links {
		in.release(w, l.m)
	}
}

func (in *inotifyInstance) use(w *inotifyWatcher, m *mark) {
	if m != nil {
		m.users[w]++
	}
}

func (in *inotifyInstance) release(w *inotifyWatcher, m *mark) {
	if m == nil {
		return
	}
	if m.users[w]--; m.users[w] <= 0 {
		delete(m.users, w)
	}
	in.unused(m)
}

// unused removes the kernel watch of a mark that nobody uses. The caller
// holds hub.mu.
func (in *inotifyInstance) unused(m *mark) {
	if len(m.users) > 0 || m.dead {
		return
	}
	m.dead = true
	delete(in.marks, m.wd)
	// Removing a watch hands its teardown to the kernel's worker: unlike
	// closing the instance, it does not wait for a grace period. Its
	// IN_IGNORED event then finds no mark and is dropped.
	unix.InotifyRmWatch(in.fd, uint32(m.wd))
}

// ensureReader makes sure a goroutine reads the instance. The caller
// holds hub.mu.
func (in *inotifyInstance) ensureReader() {
	// A Watcher may join while the reader, told to stop by idle, has not
	// stopped yet: it must then go on, not stop at the deadline.
	in.f.SetReadDeadline(time.Time{})
	if !in.reading {
		in.reading = true
		go in.readLoop()
	}
}

// idle stops the reader when no Watcher is left. The caller holds hub.mu.
func (in *inotifyInstance) idle() {
	if len(in.watchers) == 0 && in.reading {
		in.f.SetReadDeadline(time.Now())
	}
}

// readBufSize holds many events at once; the kernel never splits one.
const readBufSize = 64 * (unix.SizeofInotifyEvent + unix.NAME_MAX + 1)

// readLoop hands the instance's events to its Watchers until no Watcher is
// left.
func (in *inotifyInstance) readLoop() {
	for {
		n, err := in.f.Read(in.buf)
		hub.mu.Lock()
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			// Reading the instance failed: give it up. Its Watchers
			// move to a new one when they next wait.
			in.abandon()
			hub.mu.Unlock()
			in.f.Close() // waits for the kernel; nobody waits for us
			return
		}
		in.dispatch(in.buf[:n])
		if len(in.watchers) == 0 {
			// Watches removed since then leave their IN_IGNORED events
			// behind; the next reader drops them.
			in.reading = false
			hub.mu.Unlock()
			return
		}
		hub.mu.Unlock()
	}
}

// abandon detaches the instance and wakes its Watchers, which have no
// watches any more. The caller holds hub.mu.
func (in *inotifyInstance) abandon() {
	if hub.cur == in {
		hub.cur = nil
	}
	in.reading = false
	for w := range in.watchers {
		w.forget()
		w.notify()
	}
	clear(in.watchers)
	for _, m := range in.marks {
		m.dead = true
	}
	clear(in.marks)
}

// dispatch wakes the Watchers that a batch of events concerns. The caller
// holds hub.mu.
func (in *inotifyInstance) dispatch(buf []byte) {
	for len(buf) >= unix.SizeofInotifyEvent {
		wd := int32(binary.NativeEndian.Uint32(buf[0:]))
		mask := binary.NativeEndian.Uint32(buf[4:])
		end := unix.SizeofInotifyEvent + int(binary.NativeEndian.Uint32(buf[12:]))
		if end > len(buf) {
			end = len(buf) // the kernel never splits an event; be safe
		}
		name := buf[unix.SizeofInotifyEvent:end]
		for len(name) > 0 && name[len(name)-1] == 0 {
			name = name[:len(name)-1]
		}
		buf = buf[end:]
		if mask&unix.IN_Q_OVERFLOW != 0 {
			// Events were lost: anyone may have missed one.
			for w := range in.watchers {
				w.notify()
			}
			continue
		}
		m := in.marks[wd]
		if m == nil {
			continue // a watch removed here; its last events trail behind
		}
		for w := range m.users {
			if w.wants(m, mask, name) {
				w.notify()
			}
		}
		if mask&unix.IN_IGNORED != 0 {
			// The kernel removed the watch (the inode is gone, or its
			// file system was unmounted). Its users were woken above and
			// watch anew at their next wait.
			m.dead = true
			delete(in.marks, wd)
		}
	}
}
