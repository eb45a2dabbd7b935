//go:build windows

package safefs

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/windows"
)

// Windows has no O_NOFOLLOW; creating symbolic links needs a privilege that
// ordinary users lack, and the default lock directory is per user.
const openFlags = 0

func explainOpen(path string, err error) error { return err }

func checkRegularOwned(f *os.File) (fs.FileInfo, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, &fs.PathError{Op: "open", Path: f.Name(), Err: fmt.Errorf("%w: %s", ErrNotRegular, fi.Mode().Type())}
	}
	return fi, nil
}

func checkPrivateDir(path string, fix bool) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return err
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return &fs.PathError{Op: "check", Path: path, Err: fmt.Errorf("%w: symbolic link", ErrInsecureDir)}
	}
	if !fi.IsDir() {
		return &fs.PathError{Op: "check", Path: path, Err: windows.ERROR_DIRECTORY}
	}
	return nil
}

func owner(fi fs.FileInfo) int { return -1 }

func linkCount(fi fs.FileInfo) uint64 { return 1 }

func fileID(fi fs.FileInfo) (dev, ino uint64) { return 0, 0 }

func touch(f *os.File) error {
	now := windows.NsecToFiletime(time.Now().UnixNano())
	return windows.SetFileTime(windows.Handle(f.Fd()), nil, &now, &now)
}

func networkFS(path string) (string, bool, error) {
	root := filepath.VolumeName(path) + `\`
	p, err := windows.UTF16PtrFromString(root)
	if err != nil {
		return "", false, err
	}
	if windows.GetDriveType(p) == windows.DRIVE_REMOTE {
		return "remote", true, nil
	}
	return "", false, nil
}

func rename(oldpath, newpath string) error { return os.Rename(oldpath, newpath) }
