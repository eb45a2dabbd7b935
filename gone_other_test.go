//go:build !linux

package singleinstance_test

import "testing"

// waitGone is only used by tests that run on Linux.
func waitGone(t testing.TB, pid int) { t.Helper(); t.Skip("waitGone needs Linux") }
