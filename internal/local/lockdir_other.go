//go:build !unix && !windows

package local

import (
	"io/fs"
	"os"
	"path/filepath"
)

func defaultLockDir() (string, error) {
	return filepath.Join(os.TempDir(), "singleinstance"), nil
}

// foreignOwner would describe the owner of fi if it were another user; it
// is unknown on this platform.
func foreignOwner(fs.FileInfo) (string, bool) { return "", false }

// selfUID is the calling user, for messages.
func selfUID() string { return "you" }
