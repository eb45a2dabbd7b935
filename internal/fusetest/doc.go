// Package fusetest mounts a minimal FUSE file system for tests: an empty,
// read-only directory that the kernel reports as FUSE_SUPER_MAGIC to
// statfs(2), which is what the network file system warning looks for.
//
// It is a test helper: only _test.go files import it. The server speaks
// just enough of the FUSE protocol (INIT, GETATTR and STATFS of the root,
// LOOKUP answered with ENOENT, CREATE, MKNOD and MKDIR with EROFS) and runs
// on Linux only; Mount needs the right to mount (root) and /dev/fuse, and
// skips the test, with the reason, without them. On other systems Mount
// skips the test.
package fusetest
