package safefs_test

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/singleinstance/singleinstance/internal/safefs"
)

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestOpenLockFileCreatesAndReopens(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.pid")
	f, _, err := safefs.OpenLockFile(path, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("42\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	g, _, err := safefs.OpenLockFile(path, 0o600)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer g.Close()
	b := make([]byte, 8)
	n, _ := g.Read(b)
	if got := string(b[:n]); got != "42\n" {
		t.Errorf("reopened file holds %q, want the existing contents", got)
	}
}

func TestOpenExisting(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing")
	if _, _, err := safefs.OpenExisting(missing); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v, want ErrNotExist", err)
	}
	if _, err := os.Lstat(missing); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("OpenExisting created %s", missing)
	}
	if f, _, err := safefs.OpenExisting(dir); !errors.Is(err, safefs.ErrNotRegular) {
		if f != nil {
			f.Close()
		}
		t.Errorf("directory: %v, want ErrNotRegular", err)
	}
	path := filepath.Join(dir, "app.info")
	writeFile(t, path, "x")
	f, _, err := safefs.OpenExisting(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write([]byte("y")); err == nil {
		t.Error("the file is open for writing; want read-only")
	}
}

func TestReadBounded(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.info")
	for _, tc := range []struct {
		size, max int64
		tooLarge  bool
	}{
		{0, 0, false},
		{0, 16, false},
		{16, 16, false},
		{17, 16, true},
		{1 << 20, 16, true},
	} {
		data := bytes.Repeat([]byte{'a'}, int(tc.size))
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := safefs.ReadBounded(path, tc.max)
		if tc.tooLarge {
			if !errors.Is(err, safefs.ErrTooLarge) || got != nil {
				t.Errorf("%d bytes, bound %d: %d bytes, %v; want ErrTooLarge", tc.size, tc.max, len(got), err)
			}
			continue
		}
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("%d bytes, bound %d: %d bytes, %v; want the contents", tc.size, tc.max, len(got), err)
		}
	}
	if _, err := safefs.ReadBounded(filepath.Join(dir, "missing"), 16); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v, want ErrNotExist", err)
	}
	if _, err := safefs.ReadBounded(dir, 16); !errors.Is(err, safefs.ErrNotRegular) {
		t.Errorf("directory: %v, want ErrNotRegular", err)
	}
}

// tempFiles lists the names WriteAtomic's temporary files would have.
func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var tmp []string
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			tmp = append(tmp, e.Name())
		}
	}
	return tmp
}

func TestWriteAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.info")
	if _, err := safefs.WriteAtomic(path, []byte("first"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, path); got != "first" {
		t.Errorf("new file holds %q", got)
	}
	written, err := safefs.WriteAtomic(path, []byte("second"), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, path); got != "second" {
		t.Errorf("replaced file holds %q", got)
	}
	// The information returned is the written file's.
	if fi, err := os.Lstat(path); err != nil || !os.SameFile(fi, written) || written.Size() != int64(len("second")) {
		t.Errorf("WriteAtomic returned %v (size %d), not the file now at the path (%v)", written, written.Size(), err)
	}
	if tmp := tempFiles(t, dir); len(tmp) != 0 {
		t.Errorf("temporary files left behind: %q", tmp)
	}
	// A directory at the path is not replaced.
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := safefs.WriteAtomic(sub, []byte("x"), 0o600); err == nil {
		t.Error("WriteAtomic over a directory succeeded")
	}
	if fi, err := os.Lstat(sub); err != nil || !fi.IsDir() {
		t.Errorf("the directory is gone: %v", err)
	}
	if tmp := tempFiles(t, dir); len(tmp) != 0 {
		t.Errorf("temporary files left behind after a failure: %q", tmp)
	}
}

func TestRemoveIfSame(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.info")
	writeFile(t, path, "mine")
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := safefs.RemoveIfSame(path, fi); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the same file survived: %v", err)
	}
	if err := safefs.RemoveIfSame(path, fi); err != nil {
		t.Errorf("already removed: %v, want nil", err)
	}

	// Someone else's file, written in the meantime, survives.
	writeFile(t, path, "mine")
	fi, err = os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "other")
	writeFile(t, other, "theirs")
	if err := os.Rename(other, path); err != nil {
		t.Fatal(err)
	}
	if err := safefs.RemoveIfSame(path, fi); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, path); got != "theirs" {
		t.Errorf("after RemoveIfSame of a replaced file: %q, want the new file kept", got)
	}
}

func TestSameFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.pid")
	f, _, err := safefs.OpenLockFile(path, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if same, err := safefs.SameFile(f, path); !same || err != nil {
		t.Errorf("fresh: %v, %v; want true", same, err)
	}
	if same, err := safefs.SameFile(f, filepath.Join(dir, "elsewhere")); same || err != nil {
		t.Errorf("a missing path: %v, %v; want false, nil", same, err)
	}
	other := filepath.Join(dir, "other")
	writeFile(t, other, "")
	if same, err := safefs.SameFile(f, other); same || err != nil {
		t.Errorf("another file: %v, %v; want false, nil", same, err)
	}
}

func TestPrivateDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "locks")
	if err := safefs.CheckPrivateDir(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("CheckPrivateDir of a missing directory: %v, want ErrNotExist", err)
	}
	if _, err := os.Lstat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Error("CheckPrivateDir created the directory")
	}
	if err := safefs.EnsurePrivateDir(dir); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(dir); err != nil || !fi.IsDir() {
		t.Fatalf("EnsurePrivateDir made no directory: %v", err)
	}
	if err := safefs.EnsurePrivateDir(dir); err != nil {
		t.Errorf("existing private directory: %v", err)
	}
	if err := safefs.CheckPrivateDir(dir); err != nil {
		t.Errorf("CheckPrivateDir: %v", err)
	}
	file := filepath.Join(dir, "file")
	writeFile(t, file, "")
	if err := safefs.EnsurePrivateDir(file); err == nil {
		t.Error("EnsurePrivateDir accepted a regular file")
	}
	if err := safefs.CheckPrivateDir(file); err == nil {
		t.Error("CheckPrivateDir accepted a regular file")
	}
}

func TestEnsureDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	if _, err := safefs.EnsureDir(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := safefs.EnsureDir(dir); err != nil {
		t.Errorf("existing directory: %v", err)
	}
	file := filepath.Join(dir, "file")
	writeFile(t, file, "")
	if _, err := safefs.EnsureDir(file); err == nil {
		t.Error("EnsureDir accepted a regular file")
	}
}

func TestTouch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.pid")
	f, _, err := safefs.OpenLockFile(path, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	old := mustStat(t, path).ModTime().Add(-time.Hour)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	if err := safefs.Touch(f); err != nil {
		t.Fatal(err)
	}
	if mt := mustStat(t, path).ModTime(); !mt.After(old) {
		t.Errorf("modification time %v after Touch, want later than %v", mt, old)
	}
}

func mustStat(t *testing.T, path string) fs.FileInfo {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi
}
