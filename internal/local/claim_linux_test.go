//go:build linux

package local

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/singleinstance/singleinstance/internal/filelock"
	"github.com/singleinstance/singleinstance/internal/nametoken"
)

// TestClaimTokenSeesNewcomerWhoseFileWasRenamed: a newcomer has locked a
// lock file of the name and bound a name token, but has not yet written
// its record when the file is renamed away (a careless mv while it takes
// the lock). Another newcomer, which locks whatever file is at the path
// now and binds another token, must see the first and not go on beside
// it; a file whose record belongs to another name, or was copied from
// another file, shows nobody. This process plays the first newcomer.
func TestClaimTokenSeesNewcomerWhoseFileWasRenamed(t *testing.T) {
	for _, tc := range []struct {
		name  string
		write func(t *testing.T, f *os.File, ino uint64)
		seen  bool
	}{
		{"empty", func(*testing.T, *os.File, uint64) {}, true},
		{"record of the name", func(t *testing.T, f *os.File, ino uint64) {
			mustWriteRecord(t, f, ino, record{token: 5, name: nameSum("app")})
		}, true},
		{"held record of the name", func(t *testing.T, f *os.File, ino uint64) {
			mustWriteRecord(t, f, ino, record{token: 5, held: true, name: nameSum("app")})
		}, true},
		{"free record of another name", func(t *testing.T, f *os.File, ino uint64) {
			mustWriteRecord(t, f, ino, record{token: 5, name: nameSum("other")})
		}, true},
		{"record copied from another file", func(t *testing.T, f *os.File, ino uint64) {
			mustWriteRecord(t, f, ino+1, record{token: 5, held: true, name: nameSum("other")})
		}, true},
		{"held record of another name", func(t *testing.T, f *os.File, ino uint64) {
			mustWriteRecord(t, f, ino, record{token: 5, held: true, name: nameSum("other")})
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			key := tokenKey(dir, false, "app")
			lock := filepath.Join(dir, "app.lock")
			f, err := os.OpenFile(lock, os.O_RDWR|os.O_CREATE, 0o600)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			tc.write(t, f, inodeOf(t, f))
			if err := filelock.TryLock(f); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(lock, lock+".bak"); err != nil {
				t.Fatal(err)
			}
			first, err := nametoken.Claim(nametoken.SlotKey(key, 1))
			if err != nil {
				t.Fatal(err)
			}
			defer first.Close()

			tok, pids, err := claimToken(key, "app.lock", slog.New(slog.DiscardHandler))
			if tok != nil {
				defer tok.Close()
			}
			switch {
			case tc.seen && (!errors.Is(err, ErrAlreadyRunning) || !slices.Contains(pids, os.Getpid()) || tok != nil):
				t.Fatalf("claimToken = %v, %v, %v; want ErrAlreadyRunning naming this process (%d)", tok != nil, pids, err, os.Getpid())
			case !tc.seen && (err != nil || tok == nil):
				t.Fatalf("claimToken = %v, %v, %v; want a token: the file is another name's held lock file", tok != nil, pids, err)
			}
		})
	}
}

func mustWriteRecord(t *testing.T, f *os.File, ino uint64, r record) {
	t.Helper()
	if err := writeRecord(f, ino, r); err != nil {
		t.Fatal(err)
	}
}
