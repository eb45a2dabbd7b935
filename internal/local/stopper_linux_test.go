package local

import (
	"log/slog"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/singleinstance/singleinstance/internal/filelock"
	"github.com/singleinstance/singleinstance/internal/proc"
)

// holdWith starts "sleep" holding f's lock (f's open file description, as
// descriptor 3); the test ends it.
func holdWith(t *testing.T, f *os.File) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sleep", "300")
	cmd.ExtraFiles = []*os.File{f}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

// lockedWithToken opens the lock file at path, locks it and records token
// as held.
func lockedWithToken(t *testing.T, path string, token uint64) *os.File {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := filelock.TryLock(f); err != nil {
		t.Fatal(err)
	}
	if err := writeRecord(f, inodeOf(t, f), record{token: token, held: true}); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestStopperSignalsOnlyTheStoppedAcquisition: after the stopped holder
// has let go, a process holding a deleted lock file that records the
// stopped acquisition (an heir it handed the lock to) keeps the name held
// and is signalled; one holding the same file, deleted after a later
// acquisition took it (the next holder, whose token is greater), is never
// signalled and does not keep the stop from succeeding.
func TestStopperSignalsOnlyTheStoppedAcquisition(t *testing.T) {
	for _, heir := range []bool{true, false} {
		dir := t.TempDir()
		p := pathsFor(dir, "app")
		stopped, err := nextToken()
		if err != nil {
			t.Fatal(err)
		}
		f := lockedWithToken(t, p.lock, stopped)
		holder := holdWith(t, f)
		var next *exec.Cmd
		if heir {
			next = holdWith(t, f) // the same open file: the lock handed on
		}
		f.Close()
		s := &stopper{name: "app", log: slog.New(slog.DiscardHandler), signalled: map[int]uint64{},
			lock: proc.NameLock{Base: "app.lock", Deleted: realPath(p.lock)}, paths: p,
			locked: lockedOn(deviceOf(dir)), token: stopped, begun: time.Now()}
		holder.Process.Kill()
		holder.Wait()
		if !heir {
			// The next holder takes the same file, now free.
			later, err := nextToken(stopped)
			if err != nil {
				t.Fatal(err)
			}
			g := lockedWithToken(t, p.lock, later)
			next = holdWith(t, g)
			g.Close()
		}
		if err := os.Remove(p.lock); err != nil {
			t.Fatal(err)
		}
		held := s.signalHandedOn()
		_, signalled := s.signalled[next.Process.Pid]
		if held != heir || signalled != heir {
			t.Errorf("heir %v: signalHandedOn = %v, pid %d signalled: %v; want %v", heir, held, next.Process.Pid, signalled, heir)
		}
	}
}
