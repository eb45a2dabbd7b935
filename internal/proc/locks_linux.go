//go:build linux

package proc

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// holdsLock walks /proc/PID/fd. A descriptor on the lock file whose fdinfo
// lists an open file description write lock (the kind this package takes
// on Linux) proves the process holds it: the kernel lists there only the
// locks owned by that descriptor's open file description. A flock(2) or
// POSIX record lock on the same file is another kind, which does not
// conflict with ours: whoever holds one holds nothing of the name.
func holdsLock(id Identity, dev, ino uint64) (bool, error) {
	if err := sameStart(id); err != nil {
		return false, err
	}
	pd, err := procDir(id.PID)
	if err != nil {
		return false, err
	}
	base, names, err := openFiles(pd, true)
	if err != nil {
		return false, err
	}
	dir := base + "/fd"
	for _, name := range names {
		var st unix.Stat_t
		if unix.Stat(dir+"/"+name, &st) != nil {
			continue // closed meanwhile
		}
		if uint64(st.Dev) != dev || st.Ino != ino {
			continue
		}
		info, err := os.ReadFile(base + "/fdinfo/" + name)
		if err != nil {
			continue
		}
		if fdinfoHasWriteLock(info) {
			// The process may have exited and its PID been reused while we
			// looked; a matching start time after the look rules that out.
			if err := sameStart(id); err != nil {
				return false, err
			}
			return true, nil
		}
	}
	return false, nil
}

func fdinfoHasWriteLock(info []byte) bool {
	for line := range bytes.Lines(info) {
		if bytes.HasPrefix(line, []byte("lock:")) && isOFDWriteLock(line) {
			return true
		}
	}
	return false
}

// fdinfoInherited reports whether an fdinfo file's flags show a
// descriptor that survives exec (no O_CLOEXEC): one a process was given
// to keep, as a command inherits the lock from its wrapper, not a copy a
// fork holds for a moment before its exec closes it.
func fdinfoInherited(info []byte) bool {
	for line := range bytes.Lines(info) {
		if v, ok := bytes.CutPrefix(line, []byte("flags:")); ok {
			flags, err := strconv.ParseUint(string(bytes.TrimSpace(v)), 8, 64)
			return err == nil && flags&unix.O_CLOEXEC == 0
		}
	}
	return false
}

// isOFDWriteLock reports whether a lock line of /proc/locks or of an
// fdinfo file ("1: OFDLCK ADVISORY WRITE PID MAJ:MIN:INODE 0 EOF") is an
// open file description write lock.
func isOFDWriteLock(line []byte) bool {
	f := bytes.Fields(line)
	for i := 0; i+2 < len(f); i++ {
		if bytes.Equal(f[i], []byte("OFDLCK")) {
			return bytes.Equal(f[i+2], []byte("WRITE"))
		}
	}
	return false
}

// inodeLocked scans /proc/locks for an open file description write lock
// on MAJ:MIN:INODE.
func inodeLocked(dev, ino uint64) (bool, error) {
	f, err := os.Open("/proc/locks")
	if err != nil {
		return false, err
	}
	defer f.Close()
	want := []byte(fmt.Sprintf(" %02x:%02x:%d ", unix.Major(dev), unix.Minor(dev), ino))
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := append(sc.Bytes(), ' ')
		// Entries blocked behind a lock start with "->"; they hold nothing.
		if bytes.Contains(line, []byte("->")) {
			continue
		}
		if bytes.Contains(line, want) && isOFDWriteLock(line) {
			return true, nil
		}
	}
	return false, sc.Err()
}

// lockedFiles reads /proc/locks for every open file description write
// lock held (not waited for).
func lockedFiles() ([]FileID, error) {
	data, err := readProcFile("/proc/locks")
	if err != nil {
		return nil, err
	}
	var ids []FileID
	for line := range bytes.Lines(data) {
		if bytes.Contains(line, []byte("->")) || !isOFDWriteLock(line) {
			continue
		}
		if id, ok := parseLockedFile(line); ok {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// parseLockedFile reads the MAJ:MIN:INODE field of a /proc/locks line,
// the one after the PID (-1 for an open file description lock).
func parseLockedFile(line []byte) (FileID, bool) {
	for _, f := range bytes.Fields(line) {
		parts := bytes.Split(f, []byte(":"))
		if len(parts) != 3 {
			continue
		}
		maj, err1 := strconv.ParseUint(string(parts[0]), 16, 32)
		minor, err2 := strconv.ParseUint(string(parts[1]), 16, 32)
		ino, err3 := strconv.ParseUint(string(parts[2]), 10, 64)
		if err1 == nil && err2 == nil && err3 == nil {
			return FileID{Dev: unix.Mkdev(uint32(maj), uint32(minor)), Ino: ino}, true
		}
	}
	return FileID{}, false
}

// readProcFile reads a file of /proc with plain system calls: os.ReadFile
// would also try the file on the runtime's poller and look at its size,
// which doubles the cost of reading a short one, and check reads
// /proc/locks for every name without a lock file.
func readProcFile(path string) ([]byte, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	buf := make([]byte, 0, 1024)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := unix.Read(fd, buf[len(buf):cap(buf)])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "read", Path: path, Err: err}
		}
		if n == 0 {
			return buf, nil
		}
		buf = buf[:len(buf)+n]
	}
}
