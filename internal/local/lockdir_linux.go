//go:build linux

package local

import (
	"os"
	"path/filepath"
	"strconv"
)

// defaultLockDir prefers the user's runtime directory, /run/user/UID,
// which no other user can create, and falls back to /tmp (see
// DefaultLockDir).
func defaultLockDir() (string, error) {
	return chooseDefaultLockDir("/run/user", os.Geteuid()), nil
}

// defaultLockDirs lists every directory defaultLockDir can choose, for a
// name token that must be the same whichever one a start chose.
func defaultLockDirs() []string {
	uid := os.Geteuid()
	return []string{filepath.Join("/run/user", strconv.Itoa(uid), "singleinstance"), tmpLockDir(uid)}
}
