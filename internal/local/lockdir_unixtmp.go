//go:build unix && !linux

package local

import "os"

// defaultLockDir is /tmp/singleinstance-UID (see DefaultLockDir).
func defaultLockDir() (string, error) {
	return tmpLockDir(os.Geteuid()), nil
}
