//go:build windows

package singleinstance

import (
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
