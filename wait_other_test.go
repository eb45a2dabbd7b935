//go:build !linux

package singleinstance_test

// runWaitChild runs the child roles of the tests of waiting, which are for
// Linux only.
func runWaitChild(role, dir, name string) (code int, ok bool) { return 0, false }
