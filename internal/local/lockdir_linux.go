//go:build linux

package local

import "os"

// defaultLockDir prefers the user's runtime directory, /run/user/UID,
// which no other user can create, and falls back to /tmp (see
// DefaultLockDir).
func defaultLockDir() (string, error) {
	return chooseDefaultLockDir("/run/user", os.Geteuid()), nil
}
