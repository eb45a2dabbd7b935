package proc

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/singleinstance/singleinstance/internal/filelock"
)

// TestLockedFilesListsDeletedFiles takes an open file description write
// lock on a file, deletes the file, and takes a flock(2) lock on another:
// LockedFiles must list the first (it has no name any more, and still
// holds the lock) and not the second (another kind of lock, which holds
// nothing of a name), and stop listing the first once it is unlocked.
func TestLockedFilesListsDeletedFiles(t *testing.T) {
	dir := t.TempDir()
	ours, err := os.Create(filepath.Join(dir, "ours.lock"))
	if err != nil {
		t.Fatal(err)
	}
	defer ours.Close()
	if err := filelock.TryLock(ours); err != nil {
		t.Fatal(err)
	}
	other, err := os.Create(filepath.Join(dir, "other.lock"))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := syscall.Flock(int(other.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	id := func(f *os.File) FileID {
		var st syscall.Stat_t
		if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
			t.Fatal(err)
		}
		return FileID{Dev: uint64(st.Dev), Ino: st.Ino}
	}
	oursID, otherID := id(ours), id(other)
	if err := os.Remove(ours.Name()); err != nil {
		t.Fatal(err)
	}
	locked, err := LockedFiles()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(locked, oursID) {
		t.Errorf("LockedFiles() = %v, want it to list the deleted locked file %v", locked, oursID)
	}
	if slices.Contains(locked, otherID) {
		t.Errorf("LockedFiles() = %v lists %v, which holds a flock(2) lock only", locked, otherID)
	}
	if err := filelock.Unlock(ours); err != nil {
		t.Fatal(err)
	}
	if locked, err = LockedFiles(); err != nil || slices.Contains(locked, oursID) {
		t.Errorf("after unlock, LockedFiles() = %v, %v; want it without %v", locked, err, oursID)
	}
}

func TestParseLockedFile(t *testing.T) {
	for _, tt := range []struct {
		line string
		want FileID
		ok   bool
	}{
		{"1: OFDLCK ADVISORY  WRITE -1 08:01:1234 0 EOF\n", FileID{Dev: 0x801, Ino: 1234}, true},
		{"7: OFDLCK ADVISORY  WRITE -1 103:02:99 0 EOF\n", FileID{Dev: uint64(0x103)<<8 | 2, Ino: 99}, true},
		{"garbage\n", FileID{}, false},
	} {
		got, ok := parseLockedFile([]byte(tt.line))
		if ok != tt.ok || got != tt.want {
			t.Errorf("parseLockedFile(%q) = %v, %v; want %v, %v", tt.line, got, ok, tt.want, tt.ok)
		}
	}
}

// TestFdinfoInherited reads the flags line of real descriptors: one that
// survives exec, and one closed at exec.
func TestFdinfoInherited(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "x"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fdinfo := func() []byte {
		t.Helper()
		info, err := os.ReadFile("/proc/self/fdinfo/" + strconv.Itoa(int(f.Fd())))
		if err != nil {
			t.Fatal(err)
		}
		return info
	}
	if fdinfoInherited(fdinfo()) {
		t.Errorf("a descriptor closed at exec (os.Create's) reads as inherited:\n%s", fdinfo())
	}
	if _, err := unix.FcntlInt(f.Fd(), unix.F_SETFD, 0); err != nil {
		t.Fatal(err)
	}
	if !fdinfoInherited(fdinfo()) {
		t.Errorf("a descriptor kept through exec does not read as inherited:\n%s", fdinfo())
	}
	if fdinfoInherited([]byte("pos:\t0\n")) {
		t.Error("an fdinfo without flags reads as inherited")
	}
}
