package safefs

import (
	"testing"

	"golang.org/x/sys/unix"
)

// TestNetworkKind names the file systems whose locks are emulated,
// forwarded or ignored, and no other.
func TestNetworkKind(t *testing.T) {
	for magic, want := range map[int64]string{
		unix.NFS_SUPER_MAGIC: "nfs", unix.SMB_SUPER_MAGIC: "smb", unix.SMB2_SUPER_MAGIC: "smb2",
		unix.CIFS_SUPER_MAGIC: "cifs", unix.FUSE_SUPER_MAGIC: "fuse", unix.CEPH_SUPER_MAGIC: "ceph",
		unix.AFS_SUPER_MAGIC: "afs", 0x6b414653: "afs", unix.CODA_SUPER_MAGIC: "coda", 0x01021997: "9p",
		unix.EXT4_SUPER_MAGIC: "", unix.TMPFS_MAGIC: "", unix.BTRFS_SUPER_MAGIC: "", unix.XFS_SUPER_MAGIC: "",
	} {
		if got, ok := networkKind(magic); got != want || ok != (want != "") {
			t.Errorf("networkKind(%#x) = %q, %v; want %q", magic, got, ok, want)
		}
	}
}
