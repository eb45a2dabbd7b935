//go:build linux

package fusetest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// FUSE opcodes and sizes, from <linux/fuse.h>.
const (
	fuseLookup      = 1
	fuseForget      = 2
	fuseGetattr     = 3
	fuseMknod       = 8
	fuseMkdir       = 9
	fuseStatfs      = 17
	fuseInit        = 26
	fuseCreate      = 35
	fuseBatchForget = 42
	fuseInHeaderLen = 40
)

// Mount mounts the minimal FUSE file system on a new temporary directory,
// serves it until the test's cleanup unmounts it, and returns the
// directory. It skips the test when there is no /dev/fuse or mounting is
// not permitted.
func Mount(t testing.TB) string {
	t.Helper()
	fd, err := unix.Open("/dev/fuse", unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Skipf("skipping: no FUSE here: open /dev/fuse: %v", err)
	}
	dir := t.TempDir()
	opts := fmt.Sprintf("fd=%d,rootmode=40000,user_id=0,group_id=0", fd)
	t.Logf("mount -t fuse -o %s on %s", opts, dir)
	if err := unix.Mount("singleinstance-fusetest", dir, "fuse", unix.MS_NOSUID|unix.MS_NODEV, opts); err != nil {
		unix.Close(fd)
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.ENODEV) {
			t.Skipf("skipping: cannot mount FUSE here: %v", err)
		}
		t.Fatalf("mount fuse: %v", err)
	}
	// Only now, with the device connected to the mount, can the runtime's
	// poller register for its wake-ups.
	dev := os.NewFile(uintptr(fd), "/dev/fuse")
	done := make(chan struct{})
	go func() {
		defer close(done)
		serve(dev)
	}()
	t.Cleanup(func() {
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
		dev.Close()
		<-done
	})
	return dir
}

// serve answers the kernel's requests on dev until the mount goes away or
// dev is closed.
func serve(dev *os.File) {
	ne := binary.NativeEndian
	buf := make([]byte, 1<<20)
	for {
		n, err := dev.Read(buf)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || n < fuseInHeaderLen {
			return // unmounted or closed
		}
		req := buf[:n]
		opcode := ne.Uint32(req[4:])
		unique := ne.Uint64(req[8:])
		nodeid := ne.Uint64(req[16:])
		var out []byte
		errno := unix.ENOSYS
		switch opcode {
		case fuseForget, fuseBatchForget:
			continue // no reply
		case fuseInit:
			// fuse_init_out: major, minor, max_readahead, flags,
			// max_background, congestion_threshold, max_write, time_gran,
			// then fields left zero; 64 bytes.
			out = make([]byte, 64)
			ne.PutUint32(out[0:], 7)
			ne.PutUint32(out[4:], 31)
			ne.PutUint32(out[8:], ne.Uint32(req[fuseInHeaderLen+8:]))
			ne.PutUint32(out[20:], 4096)
			ne.PutUint32(out[24:], 1)
			errno = 0
		case fuseGetattr:
			if nodeid != 1 {
				errno = unix.ENOENT
				break
			}
			// fuse_attr_out: attr_valid, attr_valid_nsec, dummy, then
			// fuse_attr: ino, size, blocks, atime, mtime, ctime (8 bytes
			// each), atimensec, mtimensec, ctimensec, mode, nlink, uid,
			// gid, rdev, blksize, flags (4 bytes each).
			out = make([]byte, 16+88)
			a := out[16:]
			ne.PutUint64(a[0:], 1)
			ne.PutUint32(a[60:], syscall.S_IFDIR|0o755)
			ne.PutUint32(a[64:], 2)
			ne.PutUint32(a[80:], 4096)
			errno = 0
		case fuseStatfs:
			// fuse_kstatfs: blocks, bfree, bavail, files, ffree, then
			// bsize, namelen, frsize, padding, spare[6].
			out = make([]byte, 80)
			ne.PutUint32(out[40:], 4096)
			ne.PutUint32(out[44:], 255)
			ne.PutUint32(out[48:], 4096)
			errno = 0
		case fuseLookup:
			errno = unix.ENOENT
		case fuseCreate, fuseMknod, fuseMkdir:
			errno = unix.EROFS
		}
		reply := make([]byte, 16+len(out))
		ne.PutUint32(reply[0:], uint32(len(reply)))
		ne.PutUint32(reply[4:], uint32(-int32(errno)))
		ne.PutUint64(reply[8:], unique)
		copy(reply[16:], out)
		dev.Write(reply) // a request the kernel gave up on fails; it needs no answer
	}
}
