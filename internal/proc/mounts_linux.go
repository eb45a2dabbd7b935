package proc

import (
	"bytes"
	"os"
	"path"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Where a deleted file was. The kernel names a deleted file by the path it
// had, as seen through the mount it was opened by, from that mount's
// namespace. Another mount namespace, a container, or a bind mount
// names the same directory by another path, and the same path may name
// another directory there (a private /tmp). What identifies the directory
// is its place in its file system: the mount's device, the directory in
// that file system the mount shows (its root, in mountinfo), and the path
// below the mount point. A file can only have been there if it was
// created in, or moved into, that very directory.

// A fsPlace is where a file is in its file system.
type fsPlace struct {
	dev  uint64 // the file system's device, as mountinfo gives it
	path string // from the file system's root
}

// A mount is one line of a mountinfo file.
type mount struct {
	id          int
	dev         uint64
	root, point string // the file system's directory it shows, and where
}

// readMounts reads a mountinfo file (/proc/PID/mountinfo): the mounts of a
// process's mount namespace, their points relative to its root.
func readMounts(file string) ([]mount, error) {
	data, err := readProcFile(file)
	if err != nil {
		return nil, err
	}
	var ms []mount
	for line := range bytes.Lines(data) {
		f := strings.Fields(string(line))
		if len(f) < 5 {
			continue
		}
		id, err1 := strconv.Atoi(f[0])
		maj, min, ok := strings.Cut(f[2], ":")
		ma, err2 := strconv.ParseUint(maj, 10, 32)
		mi, err3 := strconv.ParseUint(min, 10, 32)
		if err1 != nil || err2 != nil || err3 != nil || !ok {
			continue
		}
		// A bind mount of a directory deleted since shows it with
		// "//deleted" after its path: where it was, as for a deleted
		// file.
		root := strings.TrimSuffix(unescapeMountField(f[3]), "//deleted")
		ms = append(ms, mount{id: id, dev: unix.Mkdev(uint32(ma), uint32(mi)),
			root: root, point: unescapeMountField(f[4])})
	}
	return ms, nil
}

// unescapeMountField undoes mountinfo's octal escapes (\040 for a space,
// \011, \012, \134).
func unescapeMountField(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// below returns p relative to m's mount point, if p is at or below it.
func (m mount) below(p string) (string, bool) {
	if m.point == "/" {
		return strings.TrimPrefix(p, "/"), strings.HasPrefix(p, "/")
	}
	if p == m.point {
		return "", true
	}
	rest, ok := strings.CutPrefix(p, m.point+"/")
	return rest, ok
}

// place is where p, at or below m's mount point, is in m's file system.
func (m mount) place(p string) (fsPlace, bool) {
	rest, ok := m.below(p)
	if !ok {
		return fsPlace{}, false
	}
	return fsPlace{dev: m.dev, path: path.Join("/", m.root, rest)}, true
}

// placeOf returns where the absolute, clean path p is in its file system
// for a process with mounts ms: through the mount that shows it, the one
// with the longest mount point above it (of those, the last mounted).
func placeOf(ms []mount, p string) (fsPlace, bool) {
	best := -1
	for i, m := range ms {
		if _, ok := m.below(p); ok && (best < 0 || len(m.point) >= len(ms[best].point)) {
			best = i
		}
	}
	if best < 0 {
		return fsPlace{}, false
	}
	return ms[best].place(p)
}

// placeVia returns where p is in its file system, p being a path through
// the mount with id in ms.
func placeVia(ms []mount, id int, p string) (fsPlace, bool) {
	for _, m := range ms {
		if m.id == id {
			return m.place(p)
		}
	}
	return fsPlace{}, false
}

// fdinfoMountID reads the mnt_id line of an fdinfo file: the mount the
// descriptor's file was opened through.
func fdinfoMountID(info []byte) (int, bool) {
	for line := range bytes.Lines(info) {
		if v, ok := bytes.CutPrefix(line, []byte("mnt_id:")); ok {
			id, err := strconv.Atoi(string(bytes.TrimSpace(v)))
			return id, err == nil
		}
	}
	return 0, false
}

// placeViaOthers returns where p is in its file system, p being a path
// through the mount with id that belongs to none of the namespaces looked
// at already (seen): one of another process's mount namespace, which the
// descriptor was opened in before it was passed on. It reads the
// mountinfo of one process of each other namespace, one whose root is its
// namespace's, so that its mount points read from the same root as p.
func placeViaOthers(id int, p string, seen map[string]bool) (fsPlace, bool) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return fsPlace{}, false
	}
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		base := "/proc/" + e.Name()
		ns, err := os.Readlink(base + "/ns/mnt")
		if err != nil || seen[ns] {
			continue
		}
		if root, err := os.Readlink(base + "/root"); err != nil || root != "/" {
			continue
		}
		seen[ns] = true
		ms, err := readMounts(base + "/mountinfo")
		if err != nil {
			continue
		}
		if place, ok := placeVia(ms, id, p); ok {
			return place, true
		}
	}
	return fsPlace{}, false
}
