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
