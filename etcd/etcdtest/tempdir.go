package etcdtest

import (
	"os"
	"testing"
)

// shortTempDir creates a private directory whose path is short enough to
// hold UNIX sockets (sun_path is limited to about 104-108 bytes, which
// t.TempDir paths can exceed) and removes it when the test ends.
func shortTempDir(t testing.TB, pattern string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", pattern)
	if err != nil {
		t.Fatalf("etcdtest: creating socket directory: %v", err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			t.Logf("etcdtest: removing %s: %v", dir, err)
		}
	})
	return dir
}
