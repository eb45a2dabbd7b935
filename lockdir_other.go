//go:build !unix && !windows

package singleinstance

import (
	"os"
	"path/filepath"
)

func defaultLockDir() (string, error) {
	return filepath.Join(os.TempDir(), "singleinstance"), nil
}
