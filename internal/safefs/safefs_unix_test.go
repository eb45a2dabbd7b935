//go:build unix

package safefs_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/singleinstance/singleinstance/internal/safefs"
)

// otherUID owns the planted files: nobody on most systems.
const otherUID = 65534

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skipf("skipping: needs root to give files to another user; running as euid %d", os.Geteuid())
	}
}

func chown(t *testing.T, path string, uid int) {
	t.Helper()
	if err := os.Lchown(path, uid, uid); err != nil {
		t.Fatal(err)
	}
}

// victim is a file that a planted link points to; it must stay unchanged.
func victim(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "victim")
	writeFile(t, path, "precious")
	return path
}

func assertVictim(t *testing.T, path string) {
	t.Helper()
	if got := readFile(t, path); got != "precious" {
		t.Errorf("victim %s now holds %q", path, got)
	}
}

func TestOpenLockFileRefuses(t *testing.T) {
	dir := t.TempDir()
	v := victim(t, dir)
	for _, tc := range []struct {
		name  string
		plant func(path string) error
		want  error
	}{
		{"symlink", func(p string) error { return os.Symlink(v, p) }, safefs.ErrNotRegular},
		{"dangling symlink", func(p string) error { return os.Symlink(filepath.Join(dir, "nowhere"), p) }, safefs.ErrNotRegular},
		{"hard link", func(p string) error { return os.Link(v, p) }, safefs.ErrHardLinked},
		{"directory", func(p string) error { return os.Mkdir(p, 0o700) }, safefs.ErrNotRegular},
		{"fifo", func(p string) error { return syscall.Mkfifo(p, 0o600) }, safefs.ErrNotRegular},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name+".pid")
			if err := tc.plant(path); err != nil {
				t.Fatal(err)
			}
			f, _, err := safefs.OpenLockFile(path, 0o600)
			if !errors.Is(err, tc.want) {
				if f != nil {
					f.Close()
				}
				t.Fatalf("OpenLockFile: %v, want %v", err, tc.want)
			}
			assertVictim(t, v)
			if _, err := os.Lstat(filepath.Join(dir, "nowhere")); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("a symbolic link was followed to create its target: %v", err)
			}
		})
	}
}

func TestOpenLockFileForeignOwner(t *testing.T) {
	requireRoot(t)
	path := filepath.Join(t.TempDir(), "app.pid")
	writeFile(t, path, "")
	chown(t, path, otherUID)
	f, _, err := safefs.OpenLockFile(path, 0o600)
	if !errors.Is(err, safefs.ErrForeignOwner) {
		if f != nil {
			f.Close()
		}
		t.Fatalf("OpenLockFile of another user's file: %v, want ErrForeignOwner", err)
	}
}

func TestOpenExistingRefusesLinksAndFIFOs(t *testing.T) {
	dir := t.TempDir()
	v := victim(t, dir)
	link := filepath.Join(dir, "link")
	if err := os.Symlink(v, link); err != nil {
		t.Fatal(err)
	}
	if _, _, err := safefs.OpenExisting(link); !errors.Is(err, safefs.ErrNotRegular) {
		t.Errorf("symlink: %v, want ErrNotRegular", err)
	}
	if _, err := safefs.ReadBounded(link, 64); !errors.Is(err, safefs.ErrNotRegular) {
		t.Errorf("ReadBounded of a symlink: %v, want ErrNotRegular", err)
	}
	// A FIFO with no writer would block an ordinary open for reading.
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := safefs.ReadBounded(fifo, 64); !errors.Is(err, safefs.ErrNotRegular) {
		t.Errorf("FIFO: %v, want ErrNotRegular", err)
	}
}

func TestWriteAtomicReplacesNotFollows(t *testing.T) {
	dir := t.TempDir()
	v := victim(t, dir)
	path := filepath.Join(dir, "app.info")
	if err := os.Symlink(v, path); err != nil {
		t.Fatal(err)
	}
	if _, err := safefs.WriteAtomic(path, []byte("record"), 0o600); err != nil {
		t.Fatal(err)
	}
	assertVictim(t, v)
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
		t.Errorf("%s is %v, want a regular file of mode 0600 in place of the link", path, fi.Mode())
	}
	if got := readFile(t, path); got != "record" {
		t.Errorf("%s holds %q", path, got)
	}
}

// TestWriteAtomicIsAtomic: a reader that opened the old file keeps seeing
// all of it; a new reader sees all of the new one.
func TestWriteAtomicIsAtomic(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.info")
	if _, err := safefs.WriteAtomic(path, []byte("old contents"), 0o600); err != nil {
		t.Fatal(err)
	}
	old, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	if _, err := safefs.WriteAtomic(path, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 64)
	n, _ := old.Read(b)
	if got := string(b[:n]); got != "old contents" {
		t.Errorf("reader of the old file sees %q", got)
	}
	if got := readFile(t, path); got != "new" {
		t.Errorf("new reader sees %q", got)
	}
	oldFI, _ := old.Stat()
	if dev, ino := safefs.FileID(oldFI); ino == 0 {
		t.Errorf("FileID of the old file: %d, %d", dev, ino)
	} else if _, newIno := safefs.FileID(mustStat(t, path)); newIno == ino {
		t.Error("the file was rewritten in place, not replaced")
	}
}

// TestSameFileRemovedOrReplaced checks SameFile and SameFileID, which
// looks only at the path, alike: the path must name the very file open.
func TestSameFileRemovedOrReplaced(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.pid")
	f, fi, err := safefs.OpenLockFile(path, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dev, ino := safefs.FileID(fi)
	check := func(what string, want bool) {
		t.Helper()
		if same, err := safefs.SameFile(f, path); same != want || err != nil {
			t.Errorf("%s: SameFile = %v, %v; want %v, nil", what, same, err, want)
		}
		if same, err := safefs.SameFileID(f, dev, ino, path); same != want || err != nil {
			t.Errorf("%s: SameFileID = %v, %v; want %v, nil", what, same, err, want)
		}
	}
	check("in place", true)
	moved := filepath.Join(dir, "moved")
	if err := os.Rename(path, moved); err != nil {
		t.Fatal(err)
	}
	check("moved away", false)
	if err := os.Symlink(moved, path); err != nil {
		t.Fatal(err)
	}
	check("a symbolic link to it in its place", false)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(moved, path); err != nil {
		t.Fatal(err)
	}
	check("moved back", true)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	check("removed", false)
	writeFile(t, path, "")
	check("replaced by a new file", false)
}

func TestEnsurePrivateDirModes(t *testing.T) {
	parent := t.TempDir()
	fresh := filepath.Join(parent, "fresh")
	if err := safefs.EnsurePrivateDir(fresh); err != nil {
		t.Fatal(err)
	}
	if m := mustStat(t, fresh).Mode().Perm(); m != 0o700 {
		t.Errorf("new directory mode %v, want 0700", m)
	}

	loose := filepath.Join(parent, "loose")
	if err := os.Mkdir(loose, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(loose, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := safefs.CheckPrivateDir(loose); !errors.Is(err, safefs.ErrInsecureDir) {
		t.Errorf("CheckPrivateDir of a 0777 directory: %v, want ErrInsecureDir", err)
	}
	if m := mustStat(t, loose).Mode().Perm(); m != 0o777 {
		t.Errorf("CheckPrivateDir changed the mode to %v", m)
	}
	if err := safefs.EnsurePrivateDir(loose); err != nil {
		t.Fatalf("EnsurePrivateDir of our own 0777 directory: %v", err)
	}
	if m := mustStat(t, loose).Mode().Perm(); m != 0o700 {
		t.Errorf("mode after EnsurePrivateDir %v, want 0700", m)
	}

	target := filepath.Join(parent, "target")
	if err := os.Mkdir(target, 0o700); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(parent, "link")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	for name, check := range map[string]func(string) error{"Ensure": safefs.EnsurePrivateDir, "Check": safefs.CheckPrivateDir} {
		if err := check(link); !errors.Is(err, safefs.ErrInsecureDir) {
			t.Errorf("%sPrivateDir of a symlink to a private directory: %v, want ErrInsecureDir", name, err)
		}
	}
}

func TestPrivateDirForeignOwner(t *testing.T) {
	requireRoot(t)
	dir := filepath.Join(t.TempDir(), "planted")
	if err := os.Mkdir(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	chown(t, dir, otherUID)
	for name, check := range map[string]func(string) error{"Ensure": safefs.EnsurePrivateDir, "Check": safefs.CheckPrivateDir} {
		err := check(dir)
		if !errors.Is(err, safefs.ErrForeignOwner) || !errors.Is(err, safefs.ErrInsecureDir) {
			t.Errorf("%sPrivateDir of another user's directory: %v, want ErrForeignOwner and ErrInsecureDir", name, err)
		}
	}
	// Refused, not fixed: the mode of another user's directory is theirs.
	if m := mustStat(t, dir).Mode().Perm(); m != 0o777 {
		t.Errorf("mode changed to %v", m)
	}
}
