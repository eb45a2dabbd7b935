//go:build unix

package local

import (
	"os"
	"os/exec"
	"testing"

	"golang.org/x/sys/unix"
)

// TestShareLockPassesOnDisplaced: descriptors that a child would inherit
// at the numbers the lock and token take are passed on above them, each
// at the next number no inherited descriptor holds; one already there
// stays. The child's table is read from cmd.ExtraFiles (entry i becomes
// descriptor 3+i), and the copies are close-on-exec and closed after.
func TestShareLockPassesOnDisplaced(t *testing.T) {
	// High numbers, far from the test's own descriptors: the lock and
	// token will take base and base+1, where inherited descriptors sit,
	// and one more sits at base+2.
	const base = 400
	for fd := base; fd < base+8; fd++ {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err == nil {
			t.Skipf("descriptor %d is in use", fd)
		}
	}
	inherited := make(map[int]uint64) // descriptor -> inode
	for _, fd := range []int{base, base + 1, base + 2} {
		f, err := os.CreateTemp(t.TempDir(), "inherited")
		if err != nil {
			t.Fatal(err)
		}
		if err := unix.Dup2(int(f.Fd()), fd); err != nil { // no close-on-exec
			t.Fatal(err)
		}
		f.Close()
		t.Cleanup(func() { unix.Close(fd) })
		inherited[fd] = inode(t, fd)
	}
	lock, token := tempFile(t), tempFile(t)
	cmd := exec.Command("true")
	cmd.ExtraFiles = make([]*os.File, base-3)
	closeCopies := shareLock(cmd, lock, token)

	at := func(fd int) *os.File { return cmd.ExtraFiles[fd-3] }
	if at(base) != lock || at(base+1) != token {
		t.Fatalf("lock and token are not at %d and %d", base, base+1)
	}
	want := map[int]int{base + 2: base + 2, base + 3: base, base + 4: base + 1} // child's -> this process's
	if got := len(cmd.ExtraFiles) + 3; got != base+5 {
		t.Fatalf("the child gets descriptors up to %d, want up to %d", got-1, base+4)
	}
	for child, orig := range want {
		f := at(child)
		if got := inode(t, int(f.Fd())); got != inherited[orig] {
			t.Errorf("child's descriptor %d is inode %d, want %d's (%d)", child, got, orig, inherited[orig])
		}
		if flags, err := unix.FcntlInt(f.Fd(), unix.F_GETFD, 0); err != nil || flags&unix.FD_CLOEXEC == 0 {
			t.Errorf("the copy for descriptor %d is not close-on-exec: %#x, %v", child, flags, err)
		}
	}
	closeCopies()
	for child := range want {
		if _, err := unix.FcntlInt(at(child).Fd(), unix.F_GETFD, 0); err == nil {
			t.Errorf("the copy for descriptor %d is still open", child)
		}
	}
	for fd := range inherited {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil {
			t.Errorf("inherited descriptor %d was closed: %v", fd, err)
		}
	}
}

// TestShareLockLeavesCloseOnExecAlone: a close-on-exec descriptor at the
// lock's number is this process's own, not the child's: nothing moves.
func TestShareLockLeavesCloseOnExecAlone(t *testing.T) {
	f := tempFile(t)
	lock := tempFile(t)
	cmd := exec.Command("true")
	cmd.ExtraFiles = make([]*os.File, int(f.Fd())-3)
	shareLock(cmd, lock, nil)()
	if len(cmd.ExtraFiles) != int(f.Fd())-2 || cmd.ExtraFiles[len(cmd.ExtraFiles)-1] != lock {
		t.Fatalf("ExtraFiles has %d entries, want the lock alone after the caller's %d", len(cmd.ExtraFiles), int(f.Fd())-3)
	}
}

func tempFile(t *testing.T) *os.File {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "f")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func inode(t *testing.T, fd int) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		t.Fatal(err)
	}
	return uint64(st.Ino)
}
