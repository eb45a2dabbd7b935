//go:build unix

package cli

import (
	"bytes"
	"io"
	"os"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// TestWritesWithoutSIGPIPE: run's messages to its standard error go
// through a close-on-exec duplicate above descriptor 2 (so that a closed
// pipe fails the write instead of ending run, and no command inherits
// it); other writers are used as they are.
func TestWritesWithoutSIGPIPE(t *testing.T) {
	got, closeIt := writesWithoutSIGPIPE(os.Stderr)
	defer closeIt()
	f, ok := got.(*os.File)
	if !ok || f == os.Stderr {
		t.Fatalf("writesWithoutSIGPIPE(os.Stderr) = %T %v, want a new *os.File", got, got)
	}
	if f.Fd() <= 2 {
		t.Errorf("duplicate is descriptor %d, want 3 or above", f.Fd())
	}
	flags, err := unix.FcntlInt(f.Fd(), syscall.F_GETFD, 0)
	if err != nil || flags&syscall.FD_CLOEXEC == 0 {
		t.Errorf("duplicate's descriptor flags = %#x, %v; want close-on-exec", flags, err)
	}
	var a, b unix.Stat_t
	if unix.Fstat(int(f.Fd()), &a) != nil || unix.Fstat(2, &b) != nil || a.Dev != b.Dev || a.Ino != b.Ino {
		t.Errorf("duplicate does not name descriptor 2's file")
	}
	// A file above descriptor 2 (a pipe's write end) and a buffer.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	for _, other := range []io.Writer{w, new(bytes.Buffer)} {
		if got, _ := writesWithoutSIGPIPE(other); got != other {
			t.Errorf("writesWithoutSIGPIPE(%T) = %v, want it unchanged", other, got)
		}
	}
}
