//go:build linux

package safefs

import "golang.org/x/sys/unix"

// networkKind names the file system with statfs(2) magic number magic if
// locks are emulated, forwarded or ignored there. (A switch, not a map: a
// map literal is built at every start of every program that links this.)
func networkKind(magic int64) (string, bool) {
	switch magic {
	case unix.NFS_SUPER_MAGIC:
		return "nfs", true
	case unix.SMB_SUPER_MAGIC:
		return "smb", true
	case unix.SMB2_SUPER_MAGIC:
		return "smb2", true
	case unix.CIFS_SUPER_MAGIC:
		return "cifs", true
	case unix.FUSE_SUPER_MAGIC:
		return "fuse", true
	case unix.CEPH_SUPER_MAGIC:
		return "ceph", true
	case unix.AFS_SUPER_MAGIC, 0x6b414653: // AFS, kAFS
		return "afs", true
	case unix.CODA_SUPER_MAGIC:
		return "coda", true
	case 0x01021997:
		return "9p", true
	}
	return "", false
}

func networkFS(path string) (string, bool, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return "", false, err
	}
	kind, ok := networkKind(int64(st.Type))
	return kind, ok, nil
}
