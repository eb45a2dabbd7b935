//go:build !linux

package cli

import "github.com/rogpeppe/go-internal/testscript"

// cmdWaitGone needs pidfds; the scripts that use it run only on Linux.
func cmdWaitGone(ts *testscript.TestScript, neg bool, args []string) {
	ts.Fatalf("waitgone: Linux only")
}
