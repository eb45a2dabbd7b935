//go:build linux

package proc

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

func holdersVia(l NameLock, threads bool) ([]int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 0 {
			continue
		}
		// Unless threads is set, the scan of every process skips the look
		// through threads of one whose main thread has exited: it would
		// cost a read for each kernel thread too, which lists no
		// descriptors either. The holder's own checks (HoldsLock, Holds)
		// make that look.
		if ok, _ := holdsVia(pid, l, threads); ok {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

func holdersBelow(pid int, l NameLock) ([]int, error) {
	below, err := descendants(pid)
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, p := range below {
		if ok, _ := holds(p, l); ok {
			pids = append(pids, p)
		}
	}
	return pids, nil
}

func isSubreaper() bool {
	var v int32
	err := unix.Prctl(unix.PR_GET_CHILD_SUBREAPER, uintptr(unsafe.Pointer(&v)), 0, 0, 0)
	return err == nil && v != 0
}

// holds looks through /proc/PID/fd. A socket descriptor names its inode in
// its link ("socket:[123]"); a lock file descriptor counts only if its
// fdinfo lists a write lock, so a process that merely has the file open
// (one waiting for the lock, or reading it) is no holder.
func holds(pid int, l NameLock) (bool, error) { return holdsVia(pid, l, true) }

// holdsVia is holds; threads says whether to look through the other
// threads of a process whose main thread has exited (see openFiles).
func holdsVia(pid int, l NameLock, threads bool) (bool, error) {
	base, names, err := openFiles("/proc/"+strconv.Itoa(pid), threads)
	if err != nil {
		return false, err
	}
	dir := base + "/fd"
	sock := ""
	if l.Sock != 0 {
		sock = "socket:[" + strconv.FormatUint(l.Sock, 10) + "]"
	}
	// lockedEarlier: a write lock on a lock file of the name that is not
	// the one at the path; keptOpen: a lock file of the name (deleted or
	// not) kept open through exec but without a lock (a command's tree whose lock one of
	// them unlocked: the tree keeps the descriptors, so it keeps the
	// name). With the token, either keeps the name held. A descriptor
	// closed at exec is left out: a fork of a releasing holder has a copy
	// for a moment.
	hasSock, lockedEarlier, keptOpen := false, false, false
	for n, link := range fdLinks(dir, names) {
		if sock != "" && link == sock {
			hasSock = true
			continue
		}
		if !strings.HasPrefix(link, "/") || !maybeOfName(link, l) {
			continue
		}
		path, deleted := strings.CutSuffix(link, " (deleted)")
		info, err := os.ReadFile(base + "/fdinfo/" + n)
		if err != nil || !fdinfoHasWriteLock(info) {
			keptOpen = keptOpen || err == nil && filepath.Base(path) == l.Base && fdinfoInherited(info)
			continue
		}
		if deleted && l.Deleted != "" && deletedLockFile(base, dir+"/"+n, path, info, l) {
			return true, nil
		}
		if filepath.Base(path) != l.Base {
			continue // admitted only as a deleted file, and it is not one of the name's
		}
		var st unix.Stat_t
		if (l.Ino != 0 || l.Inherited.Ino != 0) && unix.Stat(dir+"/"+n, &st) == nil {
			dev := uint64(st.Dev)
			if l.Ino != 0 && dev == l.Dev && st.Ino == l.Ino ||
				l.Inherited.Ino != 0 && dev == l.Inherited.Dev && st.Ino == l.Inherited.Ino {
				return true, nil
			}
		}
		lockedEarlier = true
	}
	if hasSock && !lockedEarlier && !keptOpen && l.HeldRecord != nil {
		return holdsRenamed(base, names, l), nil
	}
	return hasSock && (lockedEarlier || keptOpen), nil
}

// holdsRenamed reports whether the process (or thread) at /proc path
// base, which holds the name token, holds a held lock file under another
// name than the name's (see NameLock.HeldRecord): write-locked through
// one of its descriptors, or kept open through exec (inherited, and then
// unlocked by a process of its tree, as keptOpen in holdsVia). Only such
// a process is looked at this closely: it may open the descriptors'
// files, which it does only for regular files the kernel shows
// write-locked or inherited through them.
func holdsRenamed(base string, names []string, l NameLock) bool {
	dir := base + "/fd"
	for n, link := range fdLinks(dir, names) {
		path, _ := strings.CutSuffix(link, " (deleted)")
		if !strings.HasPrefix(path, "/") || filepath.Base(path) == l.Base {
			continue // not a file, or one of the name's, already looked at
		}
		info, err := os.ReadFile(base + "/fdinfo/" + n)
		if err != nil {
			continue
		}
		locked := fdinfoHasWriteLock(info)
		if !locked && !fdinfoInherited(info) {
			continue
		}
		f, err := os.OpenFile(dir+"/"+n, os.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY, 0)
		if err != nil {
			continue
		}
		var st unix.Stat_t
		held := unix.Fstat(int(f.Fd()), &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFREG &&
			l.HeldRecord(f, st.Ino, locked)
		f.Close()
		if held {
			return true
		}
	}
	return false
}

func deletedLockFiles(pid int, l NameLock) ([]string, error) {
	base, names, err := openFiles("/proc/"+strconv.Itoa(pid), true)
	if err != nil {
		return nil, err
	}
	dir := base + "/fd"
	var out []string
	for n, link := range fdLinks(dir, names) {
		path, ok := strings.CutSuffix(link, " (deleted)")
		if !ok || !strings.HasPrefix(path, "/") || !maybeOfName(link, l) {
			continue
		}
		info, err := os.ReadFile(base + "/fdinfo/" + n)
		if err == nil && fdinfoHasWriteLock(info) && deletedLockFile(base, dir+"/"+n, path, info, l) {
			out = append(out, dir+"/"+n)
		}
	}
	return out, nil
}

// fdLinks yields the descriptors named in names of the fd directory dir
// (/proc/PID/fd, or a thread's), each with what its link reads; those
// closed meanwhile are left out. Reading a link needs the right to inspect
// the process, which is the same for all of them: at the first refusal,
// none is left to read.
func fdLinks(dir string, names []string) iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		for _, n := range names {
			link, err := os.Readlink(dir + "/" + n)
			if errors.Is(err, fs.ErrPermission) {
				return
			}
			if err == nil && !yield(n, link) {
				return
			}
		}
	}
}

// maybeOfName reports whether the descriptor whose link reads link may be
// a lock file of l's name: its base name is the name's, or it is deleted
// and l counts deleted files (a container may have mounted the lock file
// itself under another name; deletedLockFile places it).
func maybeOfName(link string, l NameLock) bool {
	path, deleted := strings.CutSuffix(link, " (deleted)")
	return filepath.Base(path) == l.Base || deleted && l.Deleted != ""
}

// deletedLockFile reports whether the descriptor at fd, of the process
// (or thread) at /proc path base, whose link reads path + " (deleted)" and
// whose fdinfo is info, is a deleted lock file of l's name (see
// NameLock.Deleted). The link's text alone proves nothing: a file may be
// named so, and another mount namespace, a container or a bind mount
// names directories by other paths, and may give the lock directory's path
// to another directory. So the file must have no link left, and must have
// been in the lock directory itself: the mount it was opened through must
// place path, in its file system, where the lock path is (see fsPlace).
// Looking the path up again now, through the process's root, would prove
// nothing: a process can change what its path names since (a symbolic
// link in place of its directory, a mount over it in a namespace of its
// own).
func deletedLockFile(base, fd, path string, info []byte, l NameLock) bool {
	var st unix.Stat_t
	if l.Deleted == "" || unix.Stat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG || st.Nlink != 0 {
		return false
	}
	id, ok := fdinfoMountID(info)
	if !ok {
		return false
	}
	ours, err := readMounts("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	want, ok := placeOf(ours, l.Deleted)
	if !ok {
		return false
	}
	// Mount IDs are unique across namespaces. Through a mount of this
	// namespace, the link reads as from here; through one of the
	// process's own namespace, as from that namespace's root, which its
	// mountinfo uses too if it is the process's root (no chroot).
	got, ok := placeVia(ours, id, path)
	if !ok {
		seen := map[string]bool{}
		if ns, err := os.Readlink("/proc/self/ns/mnt"); err == nil {
			seen[ns] = true
		}
		if root, err := os.Readlink(base + "/root"); err == nil && root == "/" {
			if ns, err := os.Readlink(base + "/ns/mnt"); err == nil && !seen[ns] {
				seen[ns] = true
				if theirs, err := readMounts(base + "/mountinfo"); err == nil {
					got, ok = placeVia(theirs, id, path)
				}
			}
		}
		if !ok {
			// Opened in a namespace of another process, and passed on.
			if got, ok = placeViaOthers(id, path, seen); !ok {
				return false
			}
		}
	}
	return got == want && mayHaveMade(st, filepath.Dir(l.Deleted))
}

// mayHaveMade reports whether the owner of the file with st may have made
// it in the lock directory dir as it is now: its user is this process's
// or the directory's, or the directory lets others write to it (every
// user, or its group, to which the file belongs). A directory of the same
// path that another user made, and removed, before this one was made
// cannot lend its files to this one.
func mayHaveMade(st unix.Stat_t, dir string) bool {
	if int(st.Uid) == os.Geteuid() {
		return true
	}
	var d unix.Stat_t
	if unix.Stat(dir, &d) != nil {
		return false
	}
	switch {
	case st.Uid == d.Uid, d.Mode&0o002 != 0:
		return true
	case d.Mode&0o020 != 0:
		// The group may write: the file was made with it (a process
		// running with the group, or a set-group-ID directory), or by a
		// member, whose own group it may carry.
		return st.Gid == d.Gid || inGroup(st.Uid, d.Gid)
	}
	return false
}

// inGroup reports whether the user uid belongs to the group gid, as
// /etc/passwd (its primary group) and /etc/group (its other groups) say.
func inGroup(uid, gid uint32) bool {
	passwd, err := readProcFile("/etc/passwd")
	if err != nil {
		return false
	}
	groups, err := readProcFile("/etc/group")
	if err != nil {
		groups = nil
	}
	return memberOf(passwd, groups, uid, gid)
}

// memberOf is inGroup, given the contents of /etc/passwd and /etc/group.
func memberOf(passwd, groups []byte, uid, gid uint32) bool {
	name, primary, ok := passwdEntry(passwd, uid)
	if !ok {
		return false
	}
	if primary == gid {
		return true
	}
	for line := range strings.Lines(string(groups)) {
		f := strings.Split(strings.TrimRight(line, "\n"), ":")
		if len(f) < 4 || f[2] != strconv.FormatUint(uint64(gid), 10) {
			continue
		}
		if slices.Contains(strings.Split(f[3], ","), name) {
			return true
		}
	}
	return false
}

// passwdEntry finds uid in an /etc/passwd file: its name and primary
// group.
func passwdEntry(passwd []byte, uid uint32) (name string, gid uint32, ok bool) {
	want := strconv.FormatUint(uint64(uid), 10)
	for line := range strings.Lines(string(passwd)) {
		f := strings.Split(strings.TrimRight(line, "\n"), ":")
		if len(f) < 4 || f[2] != want {
			continue
		}
		g, err := strconv.ParseUint(f[3], 10, 32)
		if err != nil {
			return "", 0, false
		}
		return f[0], uint32(g), true
	}
	return "", 0, false
}

// descendants walks /proc/PID/task/TID/children from pid down. For this
// process it first asks the kernel whether it has any child at all: a
// process without children has no descendants, and the answer costs one
// system call instead of a read per thread.
func descendants(pid int) ([]int, error) {
	if pid == os.Getpid() && !hasChildren() {
		return nil, nil
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		tasks, err := os.ReadDir("/proc/" + strconv.Itoa(p) + "/task")
		if err != nil {
			if p == pid {
				return nil, err
			}
			continue // exited meanwhile
		}
		for _, t := range tasks {
			data, err := os.ReadFile("/proc/" + strconv.Itoa(p) + "/task/" + t.Name() + "/children")
			if err != nil {
				continue
			}
			for _, f := range strings.Fields(string(data)) {
				if c, err := strconv.Atoi(f); err == nil && !slices.Contains(out, c) {
					out = append(out, c)
					queue = append(queue, c)
				}
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

func cmdline(pid int) ([]string, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	data = []byte(strings.TrimSuffix(string(data), "\x00"))
	if len(data) == 0 {
		return nil, nil
	}
	return strings.Split(string(data), "\x00"), nil
}

func signalHolder(pid int, sig os.Signal, l NameLock) error {
	s, ok := sig.(syscall.Signal)
	if !ok {
		return fmt.Errorf("%v is not a system signal", sig)
	}
	pidfd, err := unix.PidfdOpen(pid, 0)
	if errors.Is(err, unix.ESRCH) {
		return ErrNotFound
	}
	if err != nil {
		return os.NewSyscallError("pidfd_open", err)
	}
	defer unix.Close(pidfd)
	ok, err = holds(pid, l)
	if err != nil {
		return err
	}
	if !ok {
		return ErrNotSameProcess
	}
	if err := unix.PidfdSendSignal(pidfd, s, nil, 0); err != nil {
		if errors.Is(err, unix.ESRCH) {
			return ErrNotFound
		}
		return os.NewSyscallError("pidfd_send_signal", err)
	}
	return nil
}

// hasChildren reports whether this process has a child, running or
// exited and not yet waited for, of any kind (__WALL: also those that
// report their exit with no signal, as vfork-style helpers do). WNOWAIT
// leaves a zombie to whoever waits for it. If the kernel cannot tell, it
// reports true, so that the caller looks through /proc.
func hasChildren() bool {
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_ALL, 0, &info, unix.WEXITED|unix.WSTOPPED|unix.WCONTINUED|unix.WNOHANG|unix.WNOWAIT|unix.WALL, nil)
		if err == unix.EINTR {
			continue
		}
		return err != unix.ECHILD
	}
}

// openFiles lists the descriptors of the process whose /proc directory is
// pd, and returns the directory whose fd and fdinfo hold them: pd itself,
// or, with threads set, when the main thread has exited while other
// threads run on (which leaves pd/fd empty), a running thread's
// pd/task/TID. It returns ErrNotFound if the process is gone.
func openFiles(pd string, threads bool) (string, []string, error) {
	names, err := readNames(pd + "/fd")
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil, ErrNotFound
	}
	if err == nil && len(names) > 0 || !threads || !leaderExited(pd) {
		// Kernel threads, and processes that closed every descriptor,
		// list nothing either; only an exited main thread sends the look
		// on to the other threads.
		return pd, names, err
	}
	if tasks, terr := os.ReadDir(pd + "/task"); terr == nil {
		for _, t := range tasks {
			base := pd + "/task/" + t.Name()
			if n, err := readNames(base + "/fd"); err == nil && len(n) > 0 {
				return base, n, nil
			}
		}
	}
	return pd, names, err
}

func readNames(dir string) ([]string, error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.Readdirnames(-1)
}

// leaderExited reports whether the main thread of the process whose /proc
// directory is pd has exited: its state, after the command name in
// parentheses, is Z.
func leaderExited(pd string) bool {
	b, err := os.ReadFile(pd + "/stat")
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	return i >= 0 && i+2 < len(b) && b[i+2] == 'Z'
}
