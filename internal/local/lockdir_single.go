//go:build !linux

package local

// defaultLockDirs lists every directory defaultLockDir can choose: here,
// only one.
func defaultLockDirs() []string {
	d, err := defaultLockDir()
	if err != nil {
		return nil
	}
	return []string{d}
}
