package local

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/singleinstance/singleinstance/internal/safefs"
)

// TestRecordInLockFile reads and writes the record in a real file, as the
// lock does.
func TestRecordInLockFile(t *testing.T) {
	t.Parallel()
	f, err := os.OpenFile(filepath.Join(t.TempDir(), "app.lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := readRecord(f); got != (record{}) {
		t.Errorf("new lock file: %+v, want the zero record", got)
	}
	// A longer damaged file: the record overwrites its start.
	if _, err := f.WriteString("garbage that is longer than one record, and then some more\n"); err != nil {
		t.Fatal(err)
	}
	if got := readRecord(f); got != (record{}) {
		t.Errorf("damaged lock file: %+v, want the zero record", got)
	}
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	_, ino := safefs.FileID(fi)
	for _, want := range []record{{token: 7, held: true}, {token: 7}, {token: 8, held: true},
		{token: 9, held: true, replaced: true}, {token: 9, replaced: true}} {
		if err := writeRecord(f, want); err != nil {
			t.Fatal(err)
		}
		want.ino = ino // writeRecord names the file
		if got := readRecord(f); got != want || !got.describes(ino) {
			t.Errorf("after writeRecord(%+v): %+v", want, got)
		}
	}
}

// TestNeedsDeletedSearch: a free lock file hides a holder of a deleted one
// only if it was never held, or if its holder had replaced its first file
// (state "repl", or "left" once it let go), or if its record was copied
// from another file; not if its holder died on its first file, or let go
// of it.
func TestNeedsDeletedSearch(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		rec    record
		copied bool // the record comes from another file, copied over
		want   bool
	}{
		{record{}, false, true},
		{record{token: 7, held: true}, false, false},
		{record{token: 7, held: true}, true, true},
		{record{token: 7, held: true, replaced: true}, false, true},
		{record{token: 7}, false, false},
		{record{token: 7}, true, true},
		{record{token: 7, replaced: true}, false, true},
	} {
		f, err := os.CreateTemp(dir, "lock")
		if err != nil {
			t.Fatal(err)
		}
		if tc.rec != (record{}) {
			if err := writeRecord(f, tc.rec); err != nil {
				t.Fatal(err)
			}
		}
		if tc.copied {
			// What cp and mv, or an editor, or a backup put back, do.
			data, err := os.ReadFile(f.Name())
			if err != nil {
				t.Fatal(err)
			}
			f.Close()
			if err := os.WriteFile(f.Name()+".new", data, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(f.Name()+".new", f.Name()); err != nil {
				t.Fatal(err)
			}
			if f, err = os.Open(f.Name()); err != nil {
				t.Fatal(err)
			}
		}
		if got := needsDeletedSearch(f); got != tc.want {
			t.Errorf("record %q (copied %v): needsDeletedSearch = %v, want %v", tc.rec.bytes(), tc.copied, got, tc.want)
		}
		f.Close()
	}
}
