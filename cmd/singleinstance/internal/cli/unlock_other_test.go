//go:build !linux

package cli

const unlockEnv = "SINGLEINSTANCE_CMD_TEST_UNLOCK_INHERITED"

// unlockInheritedMain is Linux's (open file description locks).
func unlockInheritedMain(string) { panic("unlockInheritedMain: Linux only") }
