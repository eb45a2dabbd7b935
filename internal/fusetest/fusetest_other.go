//go:build !linux

package fusetest

import "testing"

// Mount skips the test: the FUSE server runs on Linux only.
func Mount(t testing.TB) string {
	t.Helper()
	t.Skip("skipping: the FUSE test server runs on Linux only")
	return ""
}
