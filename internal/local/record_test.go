package local

import (
	"bytes"
	"math"
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
	ino := inodeOf(t, f)
	for _, want := range []record{{token: 7, held: true}, {token: 7}, {token: 8, held: true},
		{token: 9, held: true, replaced: true}, {token: 9, replaced: true}} {
		if err := writeRecord(f, ino, want); err != nil {
			t.Fatal(err)
		}
		want.ino = ino // the record names the file
		if got := readRecord(f); got != want || !got.describes(ino) {
			t.Errorf("after writeRecord(%+v): %+v", want, got)
		}
	}
}

// TestRecordText: only the exact text that bytes writes parses; anything
// else is the zero record (TestRecordRoundTrip reads back what it writes).
func TestRecordText(t *testing.T) {
	t.Parallel()
	if got := recordNameAt + recordHex + 1; got != recordLen {
		t.Fatalf("the field offsets end at %d, the record is %d bytes", got, recordLen)
	}
	valid := "singleinstance token=00000000000000000042 state=held inode=00000000000000001234 name=00000000000000ab\n"
	if got, want := parseRecord([]byte(valid)), (record{token: 42, held: true, ino: 1234, name: 0xab}); got != want {
		t.Fatalf("parseRecord(%q) = %+v, want %+v", valid, got, want)
	}
	for _, bad := range []string{
		"",
		valid[:recordLen-1],
		"Singleinstance token=00000000000000000042 state=held inode=00000000000000001234 name=00000000000000ab\n",
		"singleinstance token=0000000000000000004x state=held inode=00000000000000001234 name=00000000000000ab\n",
		"singleinstance token=+0000000000000000042 state=held inode=00000000000000001234 name=00000000000000ab\n",
		"singleinstance token= 0000000000000000042 state=held inode=00000000000000001234 name=00000000000000ab\n",
		"singleinstance token=18446744073709551616 state=held inode=00000000000000001234 name=00000000000000ab\n",
		"singleinstance token=99999999999999999999 state=held inode=00000000000000001234 name=00000000000000ab\n",
		"singleinstance token=00000000000000000042 state=HELD inode=00000000000000001234 name=00000000000000ab\n",
		"singleinstance token=00000000000000000042 state=gone inode=00000000000000001234 name=00000000000000ab\n",
		"singleinstance token=00000000000000000042 state=held ino=000000000000000001234 name=00000000000000ab\n",
		"singleinstance token=00000000000000000042 state=held inode=18446744073709551616 name=00000000000000ab\n",
		"singleinstance token=00000000000000000042 state=held inode=00000000000000001234 name=00000000000000ab ",
		"singleinstance token=00000000000000000042 state=held inode=00000000000000001234\n",
		"singleinstance token=00000000000000000042 state=held inode=00000000000000001234 name=00000000000000AB\n",
		"singleinstance token=00000000000000000042 state=held inode=00000000000000001234 name=00000000000000ag\n",
		"singleinstance token=00000000000000000042 state=held inode=00000000000000001234 nam=000000000000000ab\n",
		"singleinstance token=00000000000000000042 state=held\n",
	} {
		if got := parseRecord([]byte(bad)); got != (record{}) {
			t.Errorf("parseRecord(%q) = %+v, want the zero record", bad, got)
		}
	}
}

// FuzzRecord: whatever the lock file holds, a record that parses is one
// that bytes writes, byte for byte, so that a reader never acts on a
// record no holder wrote; and every record reads back as written.
func FuzzRecord(f *testing.F) {
	f.Add([]byte("singleinstance token=00000000000000000042 state=held inode=00000000000000001234\n"), uint64(42), uint64(1234), true, false)
	f.Add([]byte("singleinstance token=18446744073709551615 state=left inode=18446744073709551615 name=ffffffffffffffff\n"), uint64(math.MaxUint64), uint64(0), false, true)
	f.Add([]byte("garbage"), uint64(0), uint64(0), false, false)
	f.Fuzz(func(t *testing.T, b []byte, token, ino uint64, held, replaced bool) {
		name := token ^ ino
		if r := parseRecord(b); r != (record{}) && !bytes.Equal(r.bytes(), b[:recordLen]) {
			t.Errorf("parseRecord(%q) = %+v, which writes %q", b, r, r.bytes())
		}
		r := record{token: token, held: held, replaced: replaced, ino: ino, name: name}
		if got := parseRecord(r.bytes()); got != r {
			t.Errorf("parseRecord(%q) = %+v, want %+v", r.bytes(), got, r)
		}
	})
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
			if err := writeRecord(f, inodeOf(t, f), tc.rec); err != nil {
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
		if got := needsDeletedSearch(f, inodeOf(t, f)); got != tc.want {
			t.Errorf("record %q (copied %v): needsDeletedSearch = %v, want %v", tc.rec.bytes(), tc.copied, got, tc.want)
		}
		f.Close()
	}
}
