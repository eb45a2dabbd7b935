package local

import (
	"context"
	"os"
	"testing"
	"time"
)

// TestCheckWritesADescriptionThatFailedFirst: the command's description
// could not be written when it started (here a directory stands at the
// .info path; in life the lock directory was switched under the write).
// Once the path is usable again, the holder's next check must write it:
// a holder that meant to be described stays described.
func TestCheckWritesADescriptionThatFailedFirst(t *testing.T) {
	t.Parallel()
	s, err := Open(Config{Dir: t.TempDir(), CheckInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	l, err := s.Acquire(context.Background(), "app", AcquireOptions{ForCommand: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	if err := os.Mkdir(l.paths.info, 0o700); err != nil {
		t.Fatal(err)
	}
	cmd := Record{PID: os.Getpid(), Executable: "/bin/command", Argv: []string{"command", "--flag"}}
	if err := l.Describe(cmd); err == nil {
		t.Fatal("Describe with a directory at the .info path succeeded; want an error")
	}
	if err := os.Remove(l.paths.info); err != nil {
		t.Fatal(err)
	}
	if _, lost, failed := l.check(0); lost || failed {
		t.Fatalf("check = lost %v, failed %v; want the lock kept", lost, failed)
	}
	got, err := readHolder(l.paths)
	if err != nil || got == nil {
		t.Fatalf("readHolder after the check = %+v, %v; want the command's description", got, err)
	}
	if got.PID != cmd.PID || got.Executable != cmd.Executable {
		t.Errorf("description after the check: pid %d, executable %q; want %d, %q", got.PID, got.Executable, cmd.PID, cmd.Executable)
	}
}
