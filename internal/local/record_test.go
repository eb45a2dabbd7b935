package local

import (
	"os"
	"path/filepath"
	"testing"
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
	for _, want := range []record{{token: 7, held: true}, {token: 7}, {token: 8, held: true}} {
		if err := writeRecord(f, want); err != nil {
			t.Fatal(err)
		}
		if got := readRecord(f); got != want {
			t.Errorf("after writeRecord(%+v): %+v", want, got)
		}
	}
}

// TestNeedsDeletedSearch: a free lock file hides a holder of a deleted one
// only if it was never held, or if its holder died after replacing its
// first file (state "repl"); not if its holder died on its first file, or
// let go.
func TestNeedsDeletedSearch(t *testing.T) {
	for _, tc := range []struct {
		rec  record
		want bool
	}{
		{record{}, true},
		{record{token: 7, held: true}, false},
		{record{token: 7, held: true, replaced: true}, true},
		{record{token: 7}, false},
	} {
		f, err := os.CreateTemp(t.TempDir(), "lock")
		if err != nil {
			t.Fatal(err)
		}
		if tc.rec != (record{}) {
			if err := writeRecord(f, tc.rec); err != nil {
				t.Fatal(err)
			}
		}
		if got := needsDeletedSearch(f); got != tc.want {
			t.Errorf("record %q: needsDeletedSearch = %v, want %v", tc.rec.bytes(), got, tc.want)
		}
		if back := readRecord(f); back != tc.rec {
			t.Errorf("record %q read back as %+v", tc.rec.bytes(), back)
		}
		f.Close()
	}
}
