//go:build windows

package local

import (
	"io/fs"
	"os"
	"path/filepath"
)

func defaultLockDir() (string, error) {
	base, err := os.UserCacheDir() // %LOCALAPPDATA%
	if err != nil {
		return "", err
	}
	return filepath.Join(base, "singleinstance"), nil
}

// foreignOwner would describe the owner of fi if it were another user;
// Windows directories are checked by their access control lists instead.
func foreignOwner(fs.FileInfo) (string, bool) { return "", false }

// selfUID is the calling user, for messages.
func selfUID() string { return "you" }
